"""The page's text generation: a prompt and sampling settings in, characters out as they are made,
each with its surprisal; and a score box, the surprisal of each character of a text of one's own.

Sampling runs `apps.generate.task.CharacterStream` (what `generate --stream` prints), one step
per character, compiled once per model; `stream` checks every field before the first character,
so a bad one is an ordinary JSON error, and then yields the characters one by one for the server
to send as they come. The score box runs `character_log_probabilities`, the `score` command's
teacher-forced pass.
"""

import math

MAX_PROMPT_WORDS = 200
MAX_LENGTH = 1000  # characters per page request (the command line allows 20,000)
MAX_SCORED_WORDS, MAX_SCORED_CHARACTERS = 400, 2000
MAX_PROMPT_CHARACTERS = 1000
DIGITS = 3


def stream(models, fields, files):
    """Checks the request, then returns a generator of {"character", "surprisal"} dicts and a last
    {"done", "characters", "nats_per_character"}."""
    from apps.generate.task import DEFAULT_LENGTH, CharacterStream

    prompt = fields.text("prompt", MAX_PROMPT_WORDS, required=False, max_characters=MAX_PROMPT_CHARACTERS)
    loaded = models.get("generate", fields.values.get("model"))
    settings = {"temperature": fields.number("temperature", 1.0, 1e-4, 100.0),
                "top_k": fields.integer("top_k", 0, 0, 1_000_000),
                "top_p": fields.number("top_p", 1.0, 1e-6, 1.0),
                "seed": fields.integer("seed", 0, 0, 2**31 - 1),
                "length": fields.integer("length", DEFAULT_LENGTH, 1, MAX_LENGTH)}
    sampler = loaded.made("stream", lambda: CharacterStream(loaded.keras_model(), loaded.vocabulary("characters")))

    def characters():
        total, count = 0.0, 0
        for character, surprisal in sampler.sample(prompt, **settings):
            total, count = total + surprisal, count + 1
            yield {"character": character, "surprisal": round(surprisal, DIGITS)}
        yield {"done": True, "characters": count, "nats_per_character": round(total / max(count, 1), 4)}

    return characters()


def score(models, fields, files):
    """The surprisal of each character of a text, after a newline (the `score` command's)."""
    from apps.generate.task import character_log_probabilities

    text = fields.text("text", MAX_SCORED_WORDS, max_characters=MAX_SCORED_CHARACTERS)
    loaded = models.get("generate", fields.values.get("model"))
    characters = loaded.vocabulary("characters")
    log_probs = character_log_probabilities(loaded.keras_model(), characters, text)
    total = float(sum(log_probs))
    nats = -total / len(text)
    unknown = sorted(set(text) - set(characters))
    return {"model": loaded.name, "text": text, "surprisal": [round(-p, DIGITS) for p in log_probs],
            "log_probability": round(total, 4), "nats_per_character": round(nats, 4),
            "perplexity": round(math.exp(nats), 3), "unknown_characters": "".join(unknown)}

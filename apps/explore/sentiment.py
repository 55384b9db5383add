"""The page's sentiment: a review in, the label, each class's probability, and each word's weight.

The SavedModel's `serving_default` returns the probabilities and the attention pooling's weight
of every word it read; `classification_record` makes the record `classify --json` prints.
"""

from apps.explore.inputs import InputError

MAX_WORDS = 1000  # the model reads at most this many (apps.sentiment.task.MAX_TOKENS)


def answer(models, fields, files):
    from apps.common.serving import run_in_batches
    from apps.sentiment.task import classification_record

    text = fields.text("text", MAX_WORDS)
    loaded = models.get("sentiment", fields.values.get("model"))
    [row] = run_in_batches(loaded.signature(), [text], 1, "text")
    record = classification_record(text, row, loaded.vocabulary("classes"))
    if "error" in record:
        raise InputError(f"text: {record['error']}")
    return {"model": loaded.name, **record}

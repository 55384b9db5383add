"""Does the attention look at the right thing? Attention against object boxes, and where it peaks.

For a caption of a StampScene, a generated word *names an object* when it is a word of exactly one
object's name in that scene, articles aside ("goat" in "a goat", "yellow" and "lemon" in
"a yellow lemon"; a word two objects share, such as "red" for "a red apple" and "a red car", names
neither). For each such word, with its attention alpha_t over the gh x gw grid:

    the attention map   alpha_t upsampled to the image (bicubic, as the plots draw it), clipped
                        at 0 and normalised to sum 1
    mass in box         the share of that map inside the object's box
    peak in box         whether the centre of the grid cell with the highest weight lies inside
                        the box (not the upsampled map's highest pixel: bicubic upsampling moves
                        a border cell's maximum to the image's edge, outside most boxes)
    area share          the box's share of the image's pixels: the chance level of the mass,
                        since attention spread evenly lands inside the box with that share
    peak chance         the share of the grid's cell centres inside the box: the chance level of
                        the peak, since a peak at a random cell lands inside with that share

The grid covers the whole image (the CNN saw it resized to a square), so grid cell (r, c) covers
rows r * H / gh .. (r + 1) * H / gh of an H x W image.
"""


import re

import numpy as np

ARTICLES = frozenset({"a", "an", "the"})


def attention_map(weights, grid_shape, height, width):
    """(L,) attention over a gh x gw grid -> (height, width) map summing to 1 (bicubic upsampling)."""
    from PIL import Image

    grid = np.asarray(weights, np.float32).reshape(grid_shape)
    upsampled = np.asarray(Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC), np.float64)
    upsampled = np.clip(upsampled, 0.0, None)  # bicubic overshoots a little below 0
    total = upsampled.sum()
    return upsampled / total if total > 0 else np.full((height, width), 1.0 / (height * width))


def attention_peak(weights, grid_shape, height, width):
    """(x, y) pixel at the centre of the grid cell where (L,) `weights` is highest."""
    x, y = cell_centres(grid_shape, height, width)[int(np.argmax(np.asarray(weights)[: grid_shape[0] * grid_shape[1]]))]
    return int(x), int(y)


def cell_centres(grid_shape, height, width):
    """(x, y) pixel centres of the grid's cells, row by row: (gh * gw, 2) ints."""
    rows, columns = np.divmod(np.arange(grid_shape[0] * grid_shape[1]), grid_shape[1])
    x = (columns + 0.5) * width / grid_shape[1]
    y = (rows + 0.5) * height / grid_shape[0]
    return np.stack([x, y], axis=-1).astype(int)


def name_words(name, tokenize):
    """The words of an object's name that can name it: its tokens, articles and punctuation aside."""
    return {word for word in tokenize(name) if word not in ARTICLES and any(ch.isalnum() for ch in word)}


def object_word_attention(words, attention, boxes, grid_shape, image_size, tokenize):
    """One record per generated word that names exactly one object of the scene.

    Args:
        words: list of T generated words (the model's tokens, lower case).
        attention: (T', L) with T' >= T, row t the attention of word t.
        boxes: list of (name, x0, y0, x1, y1) in pixels of an image_size x image_size scene
            (x1, y1 exclusive).
        grid_shape: (gh, gw).
        image_size: int, the scene's side in pixels.
        tokenize: function str -> list of str, the tokeniser of the model's vocabulary.

    Returns:
        list of dicts: word, position, object (its name), mass_in_box (float), peak_in_box (bool),
        area_share (float, the box's share of the image: the chance level of the mass),
        peak_chance (float, the share of cell centres inside the box: the chance level of the peak),
        peak (x, y), previous_peak_in_box (whether the step before the word, usually its article,
        already peaked inside the box; None for a first word).
    """
    names = [(name, name_words(name, tokenize)) for name, *_ in boxes]
    centres = cell_centres(grid_shape, image_size, image_size)
    records = []
    for position, word in enumerate(words):
        owners = [index for index, (_, vocabulary) in enumerate(names) if word in vocabulary]
        if len(owners) != 1:
            continue
        name, x0, y0, x1, y1 = boxes[owners[0]]
        heat = attention_map(attention[position], grid_shape, image_size, image_size)
        x, y = attention_peak(attention[position], grid_shape, image_size, image_size)
        inside = heat[y0:y1, x0:x1]  # the box as the image clips it
        previous = None
        if position > 0:
            px, py = attention_peak(attention[position - 1], grid_shape, image_size, image_size)
            previous = bool(x0 <= px < x1 and y0 <= py < y1)
        centres_inside = (x0 <= centres[:, 0]) & (centres[:, 0] < x1) & (y0 <= centres[:, 1]) & (centres[:, 1] < y1)
        records.append({
            "word": word,
            "position": position,
            "object": name,
            "mass_in_box": float(inside.sum()),
            "peak_in_box": bool(x0 <= x < x1 and y0 <= y < y1),
            "area_share": inside.size / heat.size,
            "peak_chance": float(centres_inside.mean()),
            "peak": (x, y),
            "previous_peak_in_box": previous,
        })
    return records


def summarize(records):
    """Over all records: {"object_words": n, "peak_in_box": share, "peak_chance": its chance level,
    "mass_in_box": mean share, "area_share": its chance level (the mean box area share)}."""
    if not records:
        return {"object_words": 0, "peak_in_box": None, "peak_chance": None, "mass_in_box": None,
                "area_share": None}
    return {
        "object_words": len(records),
        "peak_in_box": round(float(np.mean([r["peak_in_box"] for r in records])), 4),
        "peak_chance": round(float(np.mean([r["peak_chance"] for r in records])), 4),
        "mass_in_box": round(float(np.mean([r["mass_in_box"] for r in records])), 4),
        "area_share": round(float(np.mean([r["area_share"] for r in records])), 4),
    }


def breakdown(records, objects):
    """Where the peak misses: {"peak_in_box_by_objects": {"n": {"object_words", "peak_in_box"}} by the
    number of objects in the word's scene, "previous_step_peak_in_box": the share of object words whose
    previous step (usually the article) peaked inside the object's box}.

    Args:
        records: `object_word_attention` records. objects: one int per record, its scene's object count.
    """
    share = lambda flags: round(float(np.mean(flags)), 4) if flags else None  # noqa: E731
    by_objects = {}
    for count in sorted(set(objects)):
        flags = [r["peak_in_box"] for r, n in zip(records, objects, strict=True) if n == count]
        by_objects[str(count)] = {"object_words": len(flags), "peak_in_box": share(flags)}
    previous = [r["previous_peak_in_box"] for r in records if r["previous_peak_in_box"] is not None]
    return {"peak_in_box_by_objects": by_objects, "previous_step_peak_in_box": share(previous)}


# coco-caption's PTB tokenizer lowercases and drops punctuation; this keeps words, numbers,
# hyphenated words and "'s" as its tokens (a regular expression, not Stanford CoreNLP in Java).
_COCO_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*|'[a-z]+")


def coco_tokens(text):
    """The tokens coco-caption scores: lowercased, punctuation removed. "A dog's ball." -> "a dog 's ball"."""
    return " ".join(_COCO_TOKEN.findall(text.lower()))


def coco_caption_scores(hypotheses, references, meteor=True):
    """BLEU-1..4, METEOR and CIDEr-D as captioning papers report them (the coco-caption scorers).

    The scorers of `pycocoevalcap` (Chen et al. 2015, the code behind the COCO and Flickr8k tables of
    Show, Attend and Tell and later papers) on `coco_tokens`, in %. METEOR runs the package's
    meteor-1.5.jar and needs Java: None without it. Returns None when `pycocoevalcap` is not installed.

    Args:
        hypotheses: list of N str. references: list of N lists of str.
        meteor: bool, False leaves METEOR out (None): the jar's start-up takes several seconds.
    """
    try:
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
    except ImportError:
        return None
    gts = {i: [coco_tokens(r) for r in refs] for i, refs in enumerate(references)}
    res = {i: [coco_tokens(hypothesis)] for i, hypothesis in enumerate(hypotheses)}
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    scores = {f"bleu{n}": round(100.0 * float(b), 2) for n, b in enumerate(bleu, start=1)}
    scores["meteor"] = _meteor(gts, res) if meteor else None
    scores["cider"] = round(100.0 * float(Cider().compute_score(gts, res)[0]), 2)
    return scores


def _meteor(gts, res):
    """METEOR 1.5 of the package's jar (Java), or None without Java or when the jar fails."""
    import shutil

    if shutil.which("java") is None:
        return None
    from pycocoevalcap.meteor.meteor import Meteor

    try:  # the jar answers one line per caption; a Java that dies answers "" (float fails)
        return round(100.0 * float(Meteor().compute_score(gts, res)[0]), 2)
    except (OSError, ValueError):
        return None

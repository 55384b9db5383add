"""Does the attention look at the right thing? Attention against object boxes, and where it peaks.

For a caption of a StampScene, a generated word *names an object* when it is a word of exactly one
object's name in that scene, articles aside ("goat" in "a goat", "yellow" and "lemon" in
"a yellow lemon"; a word two objects share, such as "red" for "a red apple" and "a red car", names
neither). For each such word, with its attention alpha_t over the gh x gw grid:

    the attention map   alpha_t upsampled to the image (bicubic, as the plots draw it), clipped
                        at 0 and normalised to sum 1
    mass in box         the share of that map inside the object's box
    peak in box         whether the map's highest pixel lies inside the box
    area share          the box's share of the image's pixels: the chance level of both figures
                        above, since attention spread evenly (or a peak at a random pixel) lands
                        inside the box with exactly that share

The grid covers the whole image (the CNN saw it resized to a square), so grid cell (r, c) covers
rows r * H / gh .. (r + 1) * H / gh of an H x W image.
"""


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
    """(x, y) pixel where the upsampled attention map of (L,) `weights` is highest."""
    heat = attention_map(weights, grid_shape, height, width)
    y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return int(x), int(y)


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
        area_share (float, the box's share of the image: the chance level of the two), peak (x, y).
    """
    names = [(name, name_words(name, tokenize)) for name, *_ in boxes]
    records = []
    for position, word in enumerate(words):
        owners = [index for index, (_, vocabulary) in enumerate(names) if word in vocabulary]
        if len(owners) != 1:
            continue
        name, x0, y0, x1, y1 = boxes[owners[0]]
        heat = attention_map(attention[position], grid_shape, image_size, image_size)
        y, x = np.unravel_index(int(np.argmax(heat)), heat.shape)
        inside = heat[y0:y1, x0:x1]  # the box as the image clips it
        records.append({
            "word": word,
            "position": position,
            "object": name,
            "mass_in_box": float(inside.sum()),
            "peak_in_box": bool(x0 <= x < x1 and y0 <= y < y1),
            "area_share": inside.size / heat.size,
            "peak": (int(x), int(y)),
        })
    return records


def summarize(records):
    """Over all records: {"object_words": n, "peak_in_box": share, "mass_in_box": mean share,
    "area_share": mean box area share}; the last is the chance level of the two before it."""
    if not records:
        return {"object_words": 0, "peak_in_box": None, "mass_in_box": None, "area_share": None}
    return {
        "object_words": len(records),
        "peak_in_box": round(float(np.mean([r["peak_in_box"] for r in records])), 4),
        "mass_in_box": round(float(np.mean([r["mass_in_box"] for r in records])), 4),
        "area_share": round(float(np.mean([r["area_share"] for r in records])), 4),
    }


def cider_score(hypotheses, references):
    """CIDEr-D (Vedantam et al. 2015) from `pycocoevalcap` when installed, else None.

    Args:
        hypotheses: list of N str. references: list of N lists of str.
    """
    try:
        from pycocoevalcap.cider.cider import Cider
    except ImportError:
        return None
    from datasets.vocabulary import tokenize_many

    tokens = lambda texts: [" ".join(words) for words in tokenize_many(texts)]  # noqa: E731
    gts = {i: tokens(refs) for i, refs in enumerate(references)}
    res = {i: tokens([hypothesis]) for i, hypothesis in enumerate(hypotheses)}
    score, _ = Cider().compute_score(gts, res)
    return round(100.0 * float(score), 2)

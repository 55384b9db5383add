"""`eval`: BLEU-1..4 of greedy and beam captions, and on StampScenes, whether each word looked at its object.

The held-out images go through the exported model exactly as the command line sends them (read
with Pillow, resized, PNG bytes), so the scores are those of what a user runs. BLEU counts every
reference of an image (`apps.common.metrics.bleu_by_order`: sacreBLEU, lowercased, punctuation kept
as tokens); with the package `pycocoevalcap`, the coco-caption scorers the papers use are added
(BLEU-1..4, METEOR where Java is installed, CIDEr-D; `apps.caption.metrics.coco_caption_scores`).
On StampScenes, each generated word that names one of the scene's objects is checked against that
object's box (`apps.caption.metrics`).
"""

import functools
import os
import sys
import time

import numpy as np

from apps.caption import metrics
from apps.caption.encoder import ENCODERS
from apps.caption.images import ImageError, png_bytes, read_image


def evaluate(directory, examples, batch_size, beam, samples=0, plot=None, plot_images=0, plot_seed=0):
    """Metrics of the model of `directory` on `examples` (`apps.caption.data.Example`s), greedy and
    with a beam of `beam`; `samples` captions drawn at random (seeded by `plot_seed`) beside them,
    and a picture of `plot_images` images' attention in `plot` (a PNG path) when given."""
    from apps.common.metrics import bleu_by_order
    from apps.common.serving import run_in_batches

    spec = ENCODERS[directory.config().get("arguments", {}).get("encoder", "mobilenet_v2")]
    encoded, kept, unreadable = [], [], 0
    for example in examples:
        try:
            encoded.append(png_bytes(read_image(example.image, spec.image_size).model_input))
        except ImageError as error:
            print(f"warning: {error} (left out)", file=sys.stderr)
            unreadable += 1
            continue
        kept.append(example)
    if not kept:
        from apps.common.cli import UserError

        raise UserError(f"none of the {len(examples)} images could be read")
    references = [example.references for example in kept]
    signature = directory.load_serving().signatures["generate_with_beam"]
    results = {"unreadable": unreadable} if unreadable else {}
    beam_rows = None
    for size in sorted({1, beam}):
        label = "greedy" if size == 1 else f"beam{size}"
        started = time.time()
        rows = run_in_batches(signature, encoded, batch_size, "image_bytes", progress=label,
                              keep=("text", "tokens", "attention"), beam_size=size)
        seconds = round(time.time() - started, 1)
        hypotheses = [row["text"].decode("utf-8") for row in rows]
        scores = bleu_by_order(hypotheses, references)
        coco = metrics.coco_caption_scores(hypotheses, references)
        if coco is not None:
            scores["coco"] = coco
        if all(example.boxes is not None for example in kept):
            found = [(record, len(example.boxes)) for example, row in zip(kept, rows, strict=True)
                     for record in _object_words(example, row, spec)]
            records, objects = [record for record, _ in found], [count for _, count in found]
            scores["attention_in_box"] = metrics.summarize(records)
            scores["attention_misses"] = metrics.breakdown(records, objects)
        results[label] = {**scores, "seconds": seconds}
        beam_rows = rows
    if samples:
        results["samples"] = _samples(kept, beam_rows, samples, plot_seed)
    if plot:
        _plot_random(kept, beam_rows, spec, plot, plot_images, plot_seed)
    return results


def _samples(examples, rows, count, seed):
    """`count` images drawn at random (seeded): their beam caption and their first reference, unedited."""
    chosen = np.random.default_rng(seed).choice(len(examples), size=min(count, len(examples)), replace=False)
    return [{"image": os.path.basename(str(examples[i].key)), "caption": rows[i]["text"].decode("utf-8"),
             "reference": examples[i].references[0]} for i in sorted(chosen)]


def _object_words(example, row, spec):
    words = [token.decode("utf-8") for token in row["tokens"] if token]
    return metrics.object_word_attention(words, row["attention"], example.boxes, spec.grid, spec.image_size,
                                         _tokenize)


@functools.lru_cache(maxsize=4096)
def _tokenize_cached(text):
    from datasets.vocabulary import tokenize

    return tuple(tokenize(text))


def _tokenize(text):
    return list(_tokenize_cached(text))


def _plot_random(examples, rows, spec, path, count, seed):
    """Draws `count` held-out images chosen at random (seeded), never picked by their results."""
    from apps.caption.plots import plot_image_attention
    from apps.common.output_files import numbered_path

    chosen = np.random.default_rng(seed).choice(len(examples), size=min(count, len(examples)), replace=False)
    if not os.path.splitext(path)[1]:
        path += ".png"
    for number, index in enumerate(sorted(chosen)):
        example, row = examples[index], rows[index]
        words = [token.decode("utf-8") for token in row["tokens"] if token]
        title = row["text"].decode("utf-8")
        if example.boxes is not None:
            found = metrics.object_word_attention(words, row["attention"], example.boxes, spec.grid,
                                                  spec.image_size, _tokenize)
            inside = sum(record["peak_in_box"] for record in found)
            title = f"{title}  |  truth: {example.references[0]}  |  peak in box: {inside}/{len(found)} object words"
        target = numbered_path(path, number, None)  # numbered even when one image is drawn
        picture = read_image(example.image, spec.image_size, keep_display=True).display  # not the CNN's input
        plot_image_attention(picture, row["attention"][: len(words)], words, target, grid_shape=spec.grid,
                             title=title)
        print(f"attention of {example.key} written to {target}", file=sys.stderr)

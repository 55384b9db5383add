"""The default command: caption image files, folders and paths from stdin through the exported model.

Each image is read in Python (`apps.caption.images`: any Pillow format, EXIF orientation, alpha,
CMYK, huge files at reduced scale), resized to the CNN's square and handed to the SavedModel as
PNG bytes, a batch at a time. A file that cannot be read is one `error:` line on stderr and
never costs the other images their captions; the exit status is 2 only when no image at all
could be captioned.

Output: the caption alone for one image; `path<TAB>caption` per line for several; with --json,
a list of records (image, caption, score, and per word the location where its attention
peaks, as fractions of the image's width and height from the top left corner).
"""

import json
import os
import sys

import numpy as np

from apps.caption.encoder import ENCODERS
from apps.caption.images import ImageError, image_files, png_bytes, read_image
from apps.caption.metrics import attention_peak
from apps.common.cli import EXIT_USER_ERROR
from apps.common.task import DEFAULT_BEAM_SIZE

FEW_IMAGES = 8  # up to this many: no progress bar
FEW_BATCHES = 4  # up to this many batches, no graph optimisation: a fast start (see ModelDirectory.load_serving)


def caption_files(directory, inputs, args, batch_size):
    """Captions every image that `inputs` (paths of files or folders) names; returns the exit status."""
    config = directory.config()
    spec = ENCODERS[config.get("arguments", {}).get("encoder", "mobilenet_v2")]
    files, records = [], []  # records: an error per unusable input, then one per image, in order
    for path in inputs:
        if not path.strip():
            continue
        try:
            files.extend(image_files(path))
        except ImageError as error:
            _error(error)
            records.append({"image": path, "error": str(error)})
    if not files:
        if args.json:
            print(json.dumps(records, ensure_ascii=False, indent=2))
        return EXIT_USER_ERROR
    import tensorflow as tf

    beam = tf.constant(args.beam or config.get("beam_size", DEFAULT_BEAM_SIZE), tf.int32)
    signature = None  # loaded with the first readable image: bad files alone are answered at once
    several = len(files) + len(records) > 1
    progress = None
    if len(files) > FEW_IMAGES:
        from tqdm import tqdm

        progress = tqdm(total=len(files), desc="captioning", unit="image", file=sys.stderr)
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        loaded, chunk_records = {}, {}
        for index, path in enumerate(chunk, start):
            try:
                loaded[index] = read_image(path, spec.image_size, keep_display=bool(args.attention))
            except ImageError as error:
                _error(error, progress)
                chunk_records[index] = {"image": path, "error": str(error)}
        if loaded:
            if signature is None:
                serving = directory.load_serving(optimize=len(files) > FEW_BATCHES * batch_size)
                signature = serving.signatures["generate_with_beam"]
            outputs = signature(image_bytes=tf.constant([png_bytes(image.model_input) for image in loaded.values()]),
                                beam_size=beam)
            outputs = {name: value.numpy() for name, value in outputs.items()}
            for row, (index, image) in enumerate(loaded.items()):
                record = chunk_records[index] = _record(files[index], outputs, row, spec)
                if not args.json:
                    print(f"{record['image']}\t{record['caption']}" if several else record["caption"], flush=True)
                if args.attention:
                    _plot(image, record, outputs["attention"][row], spec.grid, args.attention,
                          index + 1 if len(files) > 1 else None)
        records.extend(chunk_records[index] for index in sorted(chunk_records))
        if progress:
            progress.update(len(chunk))
    if progress:
        progress.close()
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=2))
    return 0 if any("caption" in record for record in records) else EXIT_USER_ERROR


def _record(path, outputs, row, spec):
    words = [token.decode("utf-8") for token in outputs["tokens"][row] if token]
    size = spec.image_size
    located = []
    for position, word in enumerate(words):
        weights = outputs["attention"][row][position]
        x, y = attention_peak(weights, spec.grid, size, size)
        located.append({"word": word, "peak": [round(x / size, 3), round(y / size, 3)],
                        "weight": round(float(np.max(weights)), 4)})
    return {"image": path, "caption": outputs["text"][row].decode("utf-8"),
            "score": round(float(outputs["score"][row]), 4), "words": located}


def _plot(image, record, attention, grid, path, number):
    from apps.common.plots import plot_image_attention

    if number is not None:
        stem, suffix = os.path.splitext(path)
        path = f"{stem}-{number}{suffix or '.png'}"
    words = [entry["word"] for entry in record["words"]]
    plot_image_attention(image.display, attention[: len(words)], words, path, grid_shape=grid,
                         title=record["caption"])
    print(f"attention written to {path}", file=sys.stderr)


def _error(error, progress=None):
    """One `error:` line on stderr, above the progress bar when there is one."""
    if progress is not None:
        progress.write(f"error: {error}", file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr, flush=True)

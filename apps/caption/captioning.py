"""The default command: caption image files, folders and paths from stdin through the exported model.

Each image is read in Python (`apps.caption.images`: any Pillow format, EXIF orientation, alpha,
CMYK, huge files at reduced scale), resized to the CNN's square and handed to the SavedModel as
PNG bytes, a batch at a time. A file that cannot be read, or an attention picture that cannot be
written, is one `error:` line on stderr and never costs the other images their captions. Exit
status: 0 when every image was captioned (and drawn), 1 when some were, 2 when none could be.

A caption of one word, or of a near-uniform image, comes with a `warning:` line on stderr (and a
"warning" in its JSON record): it says little about the image.

Output: the caption alone for one image; `path<TAB>caption` per line for several; with --json,
a list of records (image, caption, score, and per word the location where its attention
peaks, as fractions of the image's width and height from the top left corner).
"""

import sys

import numpy as np

from apps.caption.encoder import ENCODERS
from apps.caption.images import ImageError, image_files, png_bytes, read_image
from apps.caption.metrics import attention_peak
from apps.common.cli import EXIT_PARTIAL, EXIT_USER_ERROR, print_json
from apps.common.output_files import OutputFileError, numbered_path
from apps.common.task import DEFAULT_BEAM_SIZE

FEW_IMAGES = 8  # up to this many: no progress bar
UNIFORM_STD = 4.0  # pixel standard deviation (0-255) below which an image is one colour to the eye
MIN_CAPTION_WORDS = 2
FEW_BATCHES = 4  # up to this many batches, no graph optimisation: a fast start (see ModelDirectory.load_serving)


def caption_files(directory, inputs, batch_size, beam=None, attention=None, as_json=False):
    """Captions every image that `inputs` (paths of files or folders) names; returns the exit status.

    Args:
        directory: the model's `ModelDirectory`. batch_size: images per SavedModel call.
        beam: the beam size, or None for the model's own. attention: a PNG path (numbered per
            image when there are several) for each caption's attention, or None.
        as_json: print a list of records instead of the captions.
    """
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
        if as_json:
            print_json(records)
        return EXIT_USER_ERROR
    import tensorflow as tf

    beam_size = tf.constant(beam or config.get("beam_size", DEFAULT_BEAM_SIZE), tf.int32)
    signature = None  # loaded with the first readable image: bad files alone are answered at once
    several = len(files) + len(records) > 1
    progress, unwritten = None, 0
    if len(files) > FEW_IMAGES:
        from tqdm import tqdm

        progress = tqdm(total=len(files), desc="captioning", unit="image", file=sys.stderr)
    for start in range(0, len(files), batch_size):
        chunk = files[start : start + batch_size]
        loaded, chunk_records = {}, {}
        for index, path in enumerate(chunk, start):
            try:
                loaded[index] = read_image(path, spec.image_size, keep_display=bool(attention))
            except ImageError as error:
                _error(error, progress)
                chunk_records[index] = {"image": path, "error": str(error)}
        if loaded:
            if signature is None:
                serving = directory.load_serving(optimize=len(files) > FEW_BATCHES * batch_size)
                signature = serving.signatures["generate_with_beam"]
            outputs = signature(image_bytes=tf.constant([png_bytes(image.model_input) for image in loaded.values()]),
                                beam_size=beam_size)
            outputs = {name: value.numpy() for name, value in outputs.items()}
            for row, (index, image) in enumerate(loaded.items()):
                record = chunk_records[index] = _record(files[index], outputs, row, spec)
                doubt = caption_doubt(image.model_input, record["caption"])
                if doubt:  # a caption is printed all the same, but not passed off as one that means much
                    record["warning"] = doubt
                    _warn(f"{files[index]}: {doubt}", progress)
                if not as_json:
                    print(f"{record['image']}\t{record['caption']}" if several else record["caption"], flush=True)
                if attention:
                    try:
                        _plot(image, record, outputs["attention"][row], spec.grid, attention, index, len(files))
                    except OutputFileError as error:  # the caption is printed; the next images go on
                        _error(error, progress)
                        unwritten += 1
        records.extend(chunk_records[index] for index in sorted(chunk_records))
        if progress:
            progress.update(len(chunk))
    if progress:
        progress.close()
    if as_json:
        print_json(records)
    captioned = sum("caption" in record for record in records)
    if not captioned:
        return EXIT_USER_ERROR
    return EXIT_PARTIAL if captioned < len(records) or unwritten else 0


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


def _plot(image, record, attention, grid, path, index, count):
    from apps.caption.plots import plot_image_attention

    path = numbered_path(path, index, count)
    words = [entry["word"] for entry in record["words"]]
    plot_image_attention(image.display, attention[: len(words)], words, path, grid_shape=grid,
                         title=record["caption"])
    print(f"attention written to {path}", file=sys.stderr)


def caption_doubt(pixels, caption):
    """Why a caption says little about the image, or None: a near-uniform image (a flat colour,
    a blank page), or a caption of fewer than `MIN_CAPTION_WORDS` words (the model found nothing it
    knows, as for noise).

    Args:
        pixels: (S, S, 3) uint8, the image as the model saw it.
        caption: str.
    """
    channels = pixels.reshape(-1, pixels.shape[-1]).astype(np.float32)
    if float(np.std(channels, axis=0).max()) < UNIFORM_STD:  # each channel nearly constant
        return "the image is nearly one colour: the caption says little"
    if len(caption.split()) < MIN_CAPTION_WORDS:
        return f"the model found nothing to say about this image (caption {caption!r})"
    return None


def _warn(message, progress=None):
    line = f"warning: {message}"
    if progress is not None:
        progress.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr, flush=True)


def _error(error, progress=None):
    """One `error:` line on stderr, above the progress bar when there is one."""
    if progress is not None:
        progress.write(f"error: {error}", file=sys.stderr)
    else:
        print(f"error: {error}", file=sys.stderr, flush=True)

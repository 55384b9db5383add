"""The on-disk cache of CNN features: computed once per data set and encoder, then read in seconds.

A frozen CNN gives an image the same grid in every epoch and every run, and it costs far more
than the caption decoder: `train` runs it once over a split and keeps the grids here.

    <cache>/<name>-<digest>.npy    float16 (N, gh, gw, C), memory-mapped when read
    <cache>/<name>-<digest>.json   the key, and per image: its key, captions and boxes

The digest is the SHA-256 of the key: the data source (path and modification time of a user's
file, or StampScenes' seed), the split, the number of images, the encoder, its weights file and
cut, the image size and `VERSION`. Anything that changes the grids changes the key. Both files
are written under temporary names and renamed into place, the `.npy` last: a run killed in the
middle leaves no entry that looks complete. float16 halves the disk and the page cache; the grids
(ReLU6 outputs in [0, 6]) lose about 3 significant digits, far below what training notices.

The default cache is `<seqmodels cache>/caption-features` (`datasets.cache.cache_dir()`).
"""

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

VERSION = 1  # bump when the way grids are computed changes
ENCODE_BATCH = 32


def default_cache_dir():
    from datasets.cache import cache_dir

    return cache_dir() / "caption-features"


def entry_paths(cache, key):
    """(features .npy, metadata .json) of the entry for `key` (a JSON-able dict)."""
    text = json.dumps({**key, "version": VERSION}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    name = "-".join(str(key.get(part, "")) for part in ("source_name", "split")).strip("-") or "features"
    stem = Path(cache) / f"{_safe(name)}-{digest}"
    return stem.with_suffix(".npy"), stem.with_suffix(".json")


def load_or_compute(cache, key, items, count, encode, grid_shape, progress="features"):
    """The cached grids and metadata of `key`, computing them first when missing.

    Args:
        cache: path-like, the cache directory (created when needed).
        key: dict, what the grids depend on (see the module docstring); JSON-able.
        items: a function returning an iterator of (image (S, S, 3) uint8, record dict); called
            only on a cache miss. Records are JSON-able (key, captions, boxes). An iterator may
            yield fewer than `count` items (unreadable images skipped).
        count: int, the most items expected (sizes the progress bar and the file).
        encode: function, (n, S, S, 3) uint8 -> (n, gh, gw, C) float array.
        grid_shape: (gh, gw, C).
        progress: str or None, the label of the progress bar on stderr.

    Returns:
        (grids (N, gh, gw, C) float16, read-only memory map; records, a list of N dicts).
    """
    features_path, meta_path = entry_paths(cache, key)
    if features_path.is_file() and meta_path.is_file():
        try:
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
            grids = np.load(features_path, mmap_mode="r")
            if meta.get("key") == _json(key) and grids.shape == (len(meta["records"]), *grid_shape):
                return grids, meta["records"]
        except (OSError, ValueError, KeyError, TypeError):  # a damaged entry is computed again
            pass
    Path(cache).mkdir(parents=True, exist_ok=True)
    partial, records = _compute(features_path, items, count, encode, grid_shape, progress)
    _write_atomically(meta_path, json.dumps({"key": _json(key), "records": records}, ensure_ascii=False))
    os.replace(partial, features_path)  # last: from now on the entry is complete
    return np.load(features_path, mmap_mode="r"), records


def _compute(features_path, items, count, encode, grid_shape, progress):
    """Encodes the items into a temporary .npy beside `features_path`; (its path, the records)."""
    from tqdm import tqdm

    partial = features_path.with_name(features_path.name + f".{os.getpid()}.partial")
    records = []
    try:
        grids = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float16, shape=(count, *grid_shape))
        with tqdm(total=count, desc=progress, unit="image", file=sys.stderr, disable=not progress,
                  mininterval=2.0) as bar:
            for batch in _batches(items(), count, ENCODE_BATCH):
                images, batch_records = zip(*batch, strict=True)
                start = len(records)
                grids[start : start + len(images)] = np.asarray(encode(np.stack(images)), np.float32)
                records.extend(batch_records)
                bar.update(len(images))
        grids.flush()
        grids = None  # closes the memory map
        if len(records) < count:  # unreadable images were skipped: keep the rows there are
            kept = np.array(np.load(partial, mmap_mode="r")[: len(records)])
            _save_npy(partial, kept)  # np.save would add .npy to the name
    except BaseException:
        if partial.exists():
            partial.unlink()
        raise
    return partial, records


def _batches(iterator, count, size):
    """Lists of up to `size` items of `iterator`, `count` items at most in all."""
    batch, taken = [], 0
    for item in iterator:
        if taken == count:
            break
        batch.append(item)
        taken += 1
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _save_npy(path, array):
    with open(path, "wb") as f:
        np.lib.format.write_array(f, array)


def _write_atomically(path, text):
    partial = Path(f"{path}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _json(key):
    return json.loads(json.dumps({**key, "version": VERSION}, sort_keys=True))


def _safe(name):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:60]

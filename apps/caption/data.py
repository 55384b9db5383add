"""What `--data` names: images with their reference captions (and, for StampScenes, object boxes).

  stamp-scenes      generated StampScenes (`datasets.captions`), the default: `--scenes N` per split,
                    seed 0; "test" = new scenes of training stamps, "new_stamps" = scenes of stamps
                    no training scene uses
  FOLDER            Flickr8k style: images and captions.txt / *.token.txt; split by image
  FILE.json         COCO style; images beside the file or in --image-dir; split by image
  tfds              a prepared TFDS `coco_captions` (Karpathy splits; never downloads)

`training_split` gives `train` the cached CNN grids (`apps.caption.features`) with every caption of
every image; `evaluation_split` gives `eval` the images themselves, which it captions through the
SavedModel as a user would.
"""

import dataclasses
import sys
from typing import NamedTuple

import numpy as np

from apps.caption.images import ImageError, read_image
from apps.common.cli import UserError
from datasets.captions import FLICKR8K

STAMP_SCENES = "stamp-scenes"
TFDS = "tfds"
SCENE_SEED = 0
TFDS_SPLITS = {"train": "train", "validation": "val", "test": "test"}


@dataclasses.dataclass(frozen=True)
class CaptionSource:
    """What `--data` names, with the options that go with it.

    Attributes:
        data: "stamp-scenes" (or "bundled"), "flickr8k", "tfds", a Flickr8k-style folder or a COCO json.
        scenes: StampScenes per split; validation_scenes: train's validation split, when it differs.
        image_dir: a COCO json's (or Flickr8k's) image folder, when not beside it.
        data_dir: tfds: the TFDS data directory.
        max_images: the first images of each split only, or None for all.
    """

    data: str
    scenes: int = 500
    validation_scenes: int | None = None
    image_dir: str | None = None
    data_dir: str | None = None
    max_images: int | None = None


class TrainingSplit(NamedTuple):
    """Grids (N, gh, gw, C) float16 and, per image, its key and reference captions."""

    grids: np.ndarray
    keys: list
    captions: list  # N lists of str

    def __len__(self):
        return len(self.keys)


class Example(NamedTuple):
    """One held-out image: a path or an (H, W, 3) uint8 array, its references, and boxes (or None)."""

    key: str
    image: object
    references: list
    boxes: list | None  # StampScenes: (name, x0, y0, x1, y1) in pixels of `image`


def trained_on(config):
    """The `--data` a model directory was trained on (StampScenes when it does not say)."""
    import os

    data = config.get("training", {}).get("data", STAMP_SCENES)
    if data not in (STAMP_SCENES, "bundled", FLICKR8K, TFDS) and not os.path.exists(data):
        raise UserError(f"the model was trained on {data}, which is not there: give --data")
    return data


def is_stamp_scenes(data):
    return data in (STAMP_SCENES, "bundled")


def scene_count(source, split):
    """How many StampScenes a split has: --scenes, or train's --validation-scenes for its validation split."""
    return source.validation_scenes if split == "validation" and source.validation_scenes else source.scenes


def training_split(source, split, encoder_name, fine_tune_blocks, cache):
    """The cached grids of one split of a `CaptionSource` (computed on the first run), as a `TrainingSplit`."""
    from apps.caption.encoder import ENCODERS, build_encoder, cached_grid_shape, weights_signature
    from apps.caption.features import load_or_compute

    size = ENCODERS[encoder_name].image_size
    key = {"source": _source_key(source), "source_name": _source_name(source.data), "split": split,
           "encoder": encoder_name, "cut": fine_tune_blocks, "weights": weights_signature(encoder_name),
           "image_size": size}
    if is_stamp_scenes(source.data):
        key["count"] = scene_count(source, split)
        count, items = key["count"], lambda: _scene_items(split, key["count"], size)
    elif source.data == TFDS:
        data = _tfds(source, split)
        key["count"] = count = int(data.cardinality())
        items = lambda: ((image, {"key": k, "captions": c}) for k, image, c in _tfds_rows(data, split, size))  # noqa: E731
    else:
        pairs = _grouped(source, split)
        key["count"] = count = len(pairs)
        items = lambda: _file_items(pairs, size)  # noqa: E731
    if not count:
        raise UserError(f"{source.data}: the {split} split has no images")
    encoder = []  # built on a cache miss only: loading MobileNetV2 takes a second

    def encode(images):
        if not encoder:
            encoder.append(build_encoder(encoder_name, fine_tune_blocks))
        return encoder[0].predict_on_batch(images.astype(np.float32))

    grid_shape = cached_grid_shape(encoder_name, fine_tune_blocks)
    grids, records = load_or_compute(cache, key, items, count, encode, grid_shape, progress=f"{split} features")
    if not records:
        raise UserError(f"{source.data}: no readable image in the {split} split")
    return TrainingSplit(grids, [r["key"] for r in records], [r["captions"] for r in records])


def evaluation_split(source, split, image_size):
    """The held-out images of one split of a `CaptionSource`, as `Example`s."""
    from datasets.captions import STAMPS_HELD_OUT, iter_stamp_scenes

    if is_stamp_scenes(source.data):
        scenes = iter_stamp_scenes(split, source.scenes, seed=SCENE_SEED, image_size=image_size)
        return [Example(s.key, s.image, [s.caption], [tuple(b) for b in s.boxes]) for s in scenes]
    if split == STAMPS_HELD_OUT:
        raise UserError(f"--split {STAMPS_HELD_OUT} is a StampScenes split; {source.data} has train, validation, test")
    if source.data == TFDS:
        rows = _tfds_rows(_tfds(source, split), split, image_size)
        return [Example(key, image, captions, None) for key, image, captions in rows]
    return [Example(image, image, captions, None) for image, captions in _grouped(source, split)]


def _scene_items(split, count, size):
    from datasets.captions import iter_stamp_scenes

    for scene in iter_stamp_scenes(split, count, seed=SCENE_SEED, image_size=size):
        yield scene.image, {"key": scene.key, "captions": [scene.caption], "boxes": [list(b) for b in scene.boxes]}


def _file_items(pairs, size):
    """(image, record) of each readable image; unreadable ones are skipped with a warning line."""
    skipped = 0
    for path, captions in pairs:
        try:
            image = read_image(path, size).model_input
        except ImageError as error:
            skipped += 1
            print(f"warning: {error} (skipped)", file=sys.stderr)
            continue
        yield image, {"key": path, "captions": captions}
    if skipped:
        print(f"warning: {skipped} unreadable images skipped", file=sys.stderr)


def _grouped(source, split):
    """[(image path, [captions])] of a Flickr8k folder or a COCO json, in source order (--max-images first)."""
    from datasets.captions import load_captions

    try:
        pairs = load_captions(source.data, split, image_dir=source.image_dir)
    except ValueError as error:
        raise UserError(str(error)) from None
    grouped = {}
    for image, caption in pairs:
        grouped.setdefault(image, []).append(caption)
    limit = source.max_images
    return list(grouped.items())[:limit]


def _tfds(source, split):
    """A prepared TFDS coco_captions split (the first --max-images), as a tf.data.Dataset."""
    from datasets.captions import coco_captions_dataset

    data = coco_captions_dataset(TFDS_SPLITS[split], data_dir=source.data_dir)
    limit = source.max_images
    return data.take(limit) if limit else data


def _tfds_rows(data, split, size):
    """Yields (key, image (S, S, 3) uint8 read like a user's photo, captions), one image in memory at a time."""
    for index, (image, captions) in enumerate(data.as_numpy_iterator()):
        yield (f"coco:{split}:{index}", read_image(np.asarray(image, np.uint8), size).model_input,
               [c.decode("utf-8") for c in captions])


def _source_key(source):
    """What identifies the data of --data for the feature cache."""
    import os

    if is_stamp_scenes(source.data):
        return {"kind": STAMP_SCENES, "seed": SCENE_SEED}
    if source.data == TFDS:
        return {"kind": TFDS, "data_dir": str(source.data_dir),
                "limit": source.max_images}
    path = os.path.abspath(source.data)
    if source.data == FLICKR8K and not os.path.exists(path):
        from datasets.captions import flickr8k_folder

        path = str(flickr8k_folder())
    stamp = os.stat(path).st_mtime_ns if os.path.exists(path) else None
    return {"kind": "files", "path": path, "modified": stamp, "image_dir": source.image_dir,
            "limit": source.max_images}


def _source_name(data):
    import os

    return STAMP_SCENES if is_stamp_scenes(data) else os.path.basename(os.path.normpath(str(data))) or "data"

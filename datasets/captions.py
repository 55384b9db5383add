"""Image captions: Tux Paint stamps, generated StampScenes, and the formats users bring.

Sources:
  tuxpaint        every Tux Paint stamp that has a photo (PNG), with its English caption (GPL-2);
                  split by stamp.
  StampScenes     `stamp_scenes`: 1-3 stamps pasted on a varied background, captioned with their
                  names and arrangement ("a goat to the left of a cello"), each object's box kept.
                  Deterministic: scene i of seed s is always the same picture.
  a folder        Flickr8k style: images plus `captions.txt` ("image,caption" CSV, the Kaggle form)
                  or `Flickr8k.token.txt` ("image.jpg#0<TAB>caption"); split by image.
  a .json file    COCO style: {"images": [{"id", "file_name"}], "annotations": [{"image_id",
                  "caption"}]}; split by image.
  TFDS            `coco_captions_dataset` reads a prepared TFDS `coco_captions` (never downloads).

Two honest test sets for stamp captioning, because each stamp is one photo of one thing:
  SCENES_HELD_OUT ("test")        new scenes (arrangements, backgrounds, scales) of stamps that
                                  training scenes also use: does the model describe a new picture?
  STAMPS_HELD_OUT ("new_stamps")  scenes made only of stamps that no training scene uses: does it
                                  recognise objects it has never seen? (Expect much lower scores.)
Scenes for "train" / "validation" / "test" draw only from the stamps whose own split is "train";
"new_stamps" scenes draw from the stamps of the "test" split.
"""

import collections
import csv
import functools
import json
import os
import re
from pathlib import Path

import numpy as np

from datasets.downloads import DOWNLOADS, find_files
from datasets.errors import DataError, FormatError
from datasets.splits import SPLITS, check_split, split_of
from datasets.text import first_non_utf8_line, normalize
from datasets.translation import read_stamp_caption, stamp_key, tuxpaint_stamps_dir

FLICKR8K = "flickr8k"
SCENES_HELD_OUT = "test"
STAMPS_HELD_OUT = "new_stamps"
SCENE_SPLITS = (*SPLITS, STAMPS_HELD_OUT)
# Letters, signs and coins are drawings, not photos of things; scenes use the others.
SCENE_EXCLUDED_CATEGORIES = ("symbols",)
MAX_NAME_WORDS = 5

Stamp = collections.namedtuple("Stamp", ["key", "image_path", "caption", "name"])
Stamp.__doc__ = "A Tux Paint stamp: key, PNG path, English caption, and a short name for scenes (or None)."
Scene = collections.namedtuple("Scene", ["key", "image", "caption", "boxes"])
Scene.__doc__ = """A StampScene: key, image ((H, W, 3) uint8), caption (str) and boxes, one
(name, x0, y0, x1, y1) per object in pixels, x1 / y1 exclusive."""

_NAME_END = re.compile(r"[.,;:(\u2014!?]")
_ARTICLE = re.compile(r"^(A|An|The) ")
_VERB = re.compile(r"\b(is|are|was|were|has|have|can|will)\b", re.IGNORECASE)  # a sentence, not a name


def load_captions(source="tuxpaint", split="train", *, image_dir=None):
    """Returns (image_path, caption) pairs of one split.

    Args:
        source: str or path-like: "tuxpaint", a Flickr8k-style folder, or a COCO-style .json.
        split: str, "train", "validation" or "test" (by image, so all captions of an image
            stay together).
        image_dir: path-like or None, where a COCO json's `file_name`s live; default the json's
            folder.

    Returns:
        list of (str image path, str caption), in source order.
    """
    check_split(split)
    return [(image, caption) for key, image, caption in _load(_argument(source, image_dir))
            if _split(key) == split]


def caption_report(source="tuxpaint", *, image_dir=None):
    """{split: {"images": n, "captions": n}}."""
    report = {s: {"images": set(), "captions": 0} for s in SPLITS}
    for key, image, _ in _load(_argument(source, image_dir)):
        report[_split(key)]["images"].add(image)
        report[_split(key)]["captions"] += 1
    return {s: {"images": len(r["images"]), "captions": r["captions"]} for s, r in report.items()}


def split_counts(corpus):
    """{split: images} for the summary table."""
    return {split: counts["images"] for split, counts in caption_report(corpus).items()}


def _argument(source, image_dir):
    source = os.fspath(source)
    if source == "tuxpaint":
        return ("tuxpaint", str(tuxpaint_stamps_dir()))
    path = Path(source)
    if source == FLICKR8K and not path.exists():
        path = flickr8k_folder()
    if path.is_dir():
        return ("folder", str(path.resolve()), str(Path(image_dir).resolve()) if image_dir else None,
                path.stat().st_mtime_ns)  # a changed folder is read again, not taken from `_load`'s cache
    if path.is_file() and path.suffix.lower() == ".json":
        folder = Path(image_dir) if image_dir else path.parent
        return ("coco", str(path.resolve()), str(folder.resolve()), path.stat().st_mtime_ns)
    raise DataError(f"source must be 'tuxpaint', 'flickr8k', a Flickr8k-style folder or a COCO-style .json file; "
                    f"got {source!r}")


@functools.lru_cache(maxsize=4)
def _load(source):
    """Returns a tuple of (split key, image path, caption)."""
    if source[0] == "tuxpaint":
        rows = [(s.key, s.image_path, s.caption) for s in _all_stamps(Path(source[1]))]
    elif source[0] == "folder":
        rows = list(_flickr_folder(Path(source[1]), Path(source[2]) if source[2] else None))
    else:
        rows = list(_coco_json(Path(source[1]), Path(source[2])))
    return tuple((key, image, normalize(caption)) for key, image, caption in rows if normalize(caption))


def flickr8k_folder():
    """The folder of the downloaded Flickr8k (`datasets.downloads`): its token file's."""
    return find_files(FLICKR8K)["Flickr8k.token.txt"].parent


def _split(key):
    """The split of a row key: the one an official split file names ("split:test:..."), else by hash."""
    if key.startswith("split:"):
        return key.split(":", 2)[1]
    return split_of(key)


@functools.lru_cache(maxsize=2)
def _all_stamps(root):
    stamps = []
    for text_path in sorted(root.rglob("*.txt")):
        image = text_path.with_suffix(".png")
        if not image.is_file():  # an SVG-only stamp: no photo to caption
            continue
        caption = normalize(read_stamp_caption(text_path)[0])
        key = stamp_key(text_path, root)
        name = None if key.split("/")[0] in SCENE_EXCLUDED_CATEGORIES else stamp_name(caption)
        stamps.append(Stamp(f"tuxpaint:{key}", str(image), caption, name))
    return tuple(stamps)


def load_stamps(split=None):
    """Tux Paint stamps with a photo; all of them, or those of one split (by stamp key).

    Args:
        split: str or None, "train", "validation", "test", or None for all.
    """
    stamps = _all_stamps(tuxpaint_stamps_dir())
    if split is None:
        return list(stamps)
    check_split(split)
    return [s for s in stamps if split_of(s.key) == split]


def stamp_name(caption):
    """A short noun phrase for a caption, or None when it has none ("A yellow lemon." -> "a yellow lemon").

    The caption is cut at its first punctuation; a leading article is lower-cased and "a" / "an" is
    added when there is none. Captions longer than `MAX_NAME_WORDS` words, or that are sentences
    ("Penguins are waiting"), give None.
    """
    name = _NAME_END.split(caption, maxsplit=1)[0].strip()
    if not name or len(name.split()) > MAX_NAME_WORDS or _VERB.search(name):
        return None
    if _ARTICLE.match(name):
        return name[0].lower() + name[1:]
    return ("an " if name[0].lower() in "aeiou" else "a ") + name[0].lower() + name[1:]


def stamp_scenes(split="train", count=100, *, seed=0, image_size=224):
    """Generates `count` StampScenes of one split (see the module docstring for the splits).

    Args:
        split: str, "train", "validation", "test" (= `SCENES_HELD_OUT`) or "new_stamps"
            (= `STAMPS_HELD_OUT`).
        count: int, scenes to make.
        seed: int, the scene set; scene i of a seed is always the same.
        image_size: int, side of the square image in pixels.

    Returns:
        list of `Scene`.
    """
    return list(iter_stamp_scenes(split, count, seed=seed, image_size=image_size))


def iter_stamp_scenes(split="train", count=None, *, seed=0, image_size=224):
    """Yields StampScenes of one split, forever when `count` is None (see `stamp_scenes`)."""
    if split not in SCENE_SPLITS:
        raise ValueError(f"split must be one of {', '.join(SCENE_SPLITS)}; got {split!r}")
    if count is not None and (not isinstance(count, int) or count < 0):
        raise ValueError(f"count must be a non-negative integer or None; got {count!r}")
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError(f"image_size must be an integer >= 32; got {image_size!r}")
    stamp_split = "test" if split == STAMPS_HELD_OUT else "train"
    stamps = [s for s in load_stamps(stamp_split) if s.name]
    made, index = 0, 0
    while count is None or made < count:
        key = f"scene:{seed}:{index}"
        index += 1
        # Held-out-stamp scenes are all usable; the others are split by the scene's own key.
        if split != STAMPS_HELD_OUT and split_of(key) != split:
            continue
        yield make_scene(key, stamps, np.random.default_rng([seed, index]), image_size)
        made += 1


def make_scene(key, stamps, rng, image_size):
    """Composes one scene from 1-3 distinct `stamps` with `rng` (a numpy Generator)."""
    from PIL import Image

    canvas = Image.fromarray(_background(rng, image_size))
    count = int(rng.integers(1, 4))
    chosen = [stamps[i] for i in rng.choice(len(stamps), size=count, replace=False)]
    boxes = []
    for stamp in chosen:
        picture = _load_rgba(stamp.image_path)
        for _ in range(50):  # rejection sampling: objects must not overlap, so relations are clear
            side = int(image_size * rng.uniform(0.25, 0.45 if count > 1 else 0.7))
            scale = side / max(picture.size)
            w, h = max(1, round(picture.width * scale)), max(1, round(picture.height * scale))
            x, y = int(rng.integers(0, image_size - w + 1)), int(rng.integers(0, image_size - h + 1))
            box = (stamp.name, x, y, x + w, y + h)
            if not any(_overlap(box, other) for other in boxes):
                break
        else:
            continue  # no room left for this one: the scene has fewer objects
        resized = picture.resize((w, h), Image.LANCZOS)
        canvas.paste(resized, (x, y), resized)
        # The box of what is visible, not of the transparent rectangle around it.
        left, top, right, bottom = resized.getchannel("A").getbbox() or (0, 0, w, h)
        boxes.append((stamp.name, x + left, y + top, x + right, y + bottom))
    return Scene(key, np.asarray(canvas, dtype=np.uint8), describe(boxes), boxes)


def describe(boxes):
    """The caption of a scene from its boxes: "a goat", "a goat to the left of a cello", or
    "a goat, a cello and a frog from left to right"."""
    if len(boxes) == 1:
        return boxes[0][0]
    if len(boxes) == 2:
        (a, *box_a), (b, *box_b) = boxes
        dx = (box_b[0] + box_b[2] - box_a[0] - box_a[2]) / 2
        dy = (box_b[1] + box_b[3] - box_a[1] - box_a[3]) / 2
        if abs(dx) >= abs(dy):
            relation = "to the left of" if dx > 0 else "to the right of"
        else:
            relation = "above" if dy > 0 else "below"
        return f"{a} {relation} {b}"
    names = [name for name, *_ in sorted(boxes, key=lambda box: box[1] + box[3])]
    return f"{', '.join(names[:-1])} and {names[-1]} from left to right"


def _overlap(a, b):
    return a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]


@functools.lru_cache(maxsize=1024)
def _load_rgba(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGBA")


def _background(rng, size):
    """A plain colour, a two-colour gradient or coloured noise, chosen by `rng`: (size, size, 3) uint8."""
    kind = rng.integers(3)
    first, second = rng.integers(0, 256, size=(2, 3))
    if kind == 0:
        return np.broadcast_to(first, (size, size, 3)).astype(np.uint8)
    if kind == 1:
        t = np.linspace(0.0, 1.0, size)[:, None, None]
        image = first * (1 - t) + second * t
        image = np.broadcast_to(image, (size, size, 3))
        return (image if rng.integers(2) else image.transpose(1, 0, 2)).astype(np.uint8)
    noise = rng.normal(0, 25, size=(size // 8, size // 8, 3))
    noise = np.kron(noise, np.ones((8, 8, 1)))[:size, :size]
    return np.clip(first + noise, 0, 255).astype(np.uint8)


# Where a Flickr8k download keeps its photos: the original zip, Kaggle's copy, other mirrors.
FLICKR_IMAGE_DIRS = DOWNLOADS[FLICKR8K].folders
# The standard Flickr8k splits (Hodosh et al. 2013), one image name per line, when the folder has them.
FLICKR_SPLIT_FILES = {"train": "Flickr_8k.trainImages.txt", "validation": "Flickr_8k.devImages.txt",
                      "test": "Flickr_8k.testImages.txt"}


def _flickr_folder(folder, image_dir=None):
    """Reads a Flickr8k-style folder: captions in captions.txt or a .token.txt, photos in it or a subfolder.

    With the standard split files (`FLICKR_SPLIT_FILES`) beside the captions, those splits are kept and
    only the images they list are read (the token file's one caption of a photo that does not exist,
    2258277193_586949ec62.jpg.1, is in none); otherwise images are split by a hash of their name.
    """
    images = Path(image_dir) if image_dir else next(
        (folder / name for name in FLICKR_IMAGE_DIRS if (folder / name).is_dir()), folder)
    captions = folder / "captions.txt"
    tokens = sorted(folder.glob("*.token.txt"))
    if not captions.is_file() and not tokens:
        raise DataError(f"{folder}: expected a captions.txt (image,caption) or a *.token.txt file")
    path = captions if captions.is_file() else tokens[0]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise FormatError(path, first_non_utf8_line(path), "UTF-8 text") from None
    if path == captions:
        rows = csv.reader(lines)
        if next(rows, None) != ["image", "caption"]:
            raise FormatError(path, 1, "the header 'image,caption'")
        parsed = ((n, row) for n, row in enumerate(rows, start=2))
        expected = "image,caption"
    else:
        parsed = ((n, line.split("\t")) for n, line in enumerate(lines, start=1))
        expected = "image.jpg#index<TAB>caption"
    official = _official_splits(folder)
    for number, row in parsed:
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise FormatError(path, number, f"{expected}, got {len(row)} field(s)")
        name = row[0].split("#")[0]
        if official is not None and name not in official:
            continue
        image = images / name
        if not image.is_file():
            if official and not any(images.glob("*.jpg")):
                raise DataError(f"{folder}: the Flickr8k photos are not there (looked in {images}): unzip "
                                f"Flickr8k_Dataset.zip beside the captions, or give --image-dir")
            raise FormatError(path, number, f"an image that exists in {images}; {name!r} does not")
        yield (f"split:{official[name]}:{name}" if official else f"image:{name}"), str(image), row[1]


def _official_splits(folder):
    """{image name: split} from the standard split files, or None when the folder has none of them."""
    present = {split: folder / name for split, name in FLICKR_SPLIT_FILES.items() if (folder / name).is_file()}
    if not present:
        return None
    if len(present) < len(FLICKR_SPLIT_FILES):
        missing = sorted(set(FLICKR_SPLIT_FILES.values()) - {p.name for p in present.values()})
        raise DataError(f"{folder}: has some of the Flickr8k split files but not {', '.join(missing)}")
    splits = {}
    for split, path in present.items():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            name = line.strip()
            if name and splits.setdefault(name, split) != split:
                raise FormatError(path, number, f"an image of one split only; {name!r} is also in {splits[name]}")
    return splits


def _coco_json(path, image_dir):
    """Reads a COCO-style captions json."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise FormatError(path, line, f"a UTF-8 JSON document ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise FormatError(path, None, "a COCO captions object with 'images' and 'annotations' lists")
    try:
        files = {image["id"]: image["file_name"] for image in data["images"]}
        for number, note in enumerate(data["annotations"]):
            if note["image_id"] not in files:
                raise FormatError(path, None, f"annotation {number} to name a listed image id; "
                                              f"got {note['image_id']!r}")
            name = files[note["image_id"]]
            yield f"image:{name}", str(image_dir / name), note["caption"]
    except (KeyError, TypeError) as error:
        raise FormatError(path, None, f"images with 'id' and 'file_name' and annotations with 'image_id' and "
                                      f"'caption' (missing {error})") from None


def coco_captions_dataset(split="train", data_dir=None):
    """A prepared TFDS `coco_captions` split as a tf.data.Dataset of (image, captions); never downloads.

    Args:
        split: str, a TFDS split of coco_captions ("train", "val", "test", "restval": the Karpathy
            splits, which are by image and so leak-free).
        data_dir: str or None, the TFDS data directory.
    """
    import tensorflow_datasets as tfds

    where = data_dir or "the default TFDS data dir"
    try:
        builder = tfds.builder("coco_captions", data_dir=data_dir)
        prepared = builder.is_prepared()
    except Exception as error:  # TFDS raises many kinds; any of them means "not usable here"
        raise DataError(f"TFDS coco_captions is not usable in {where}: {error}") from None
    if not prepared:
        raise DataError(f"TFDS coco_captions is not prepared in {where}: prepare it on a machine with "
                        "internet (tfds build coco_captions) and pass its data_dir")
    data = builder.as_dataset(split=split)
    return data.map(lambda x: (x["image"], x["captions"]["text"]))

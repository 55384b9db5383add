import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasets.captions import (
    FLICKR_SPLIT_FILES,
    STAMPS_HELD_OUT,
    caption_report,
    coco_captions_dataset,
    describe,
    load_captions,
    load_stamps,
    stamp_name,
    stamp_scenes,
)
from datasets.errors import DataError, FormatError
from datasets.splits import SPLITS


def test_tuxpaint_captions_counts_and_no_leak(bundled_cache):
    # Recorded from the bundled stamps (a Debian package). Exact: a change to the split shows here.
    report = caption_report("tuxpaint")
    assert {s: (report[s]["images"], report[s]["captions"]) for s in SPLITS} == {
        "train": (691, 691), "validation": (45, 45), "test": (49, 49)}
    images = {s: {image for image, _ in load_captions("tuxpaint", s)} for s in SPLITS}
    assert not images["train"] & (images["validation"] | images["test"])
    assert not images["validation"] & images["test"]
    assert all(path.endswith(".png") for path in images["test"])


@pytest.mark.parametrize("key, split", [
    ("tuxpaint:animals/amphibians/frog-1", "train"),
    ("tuxpaint:animals/birds/cuckoo", "validation"),
    ("tuxpaint:animals/birds/crowned_crane", "test"),
])
def test_a_named_stamp_stays_in_its_recorded_split(bundled_cache, key, split):
    assert [s for s in SPLITS if key in {stamp.key for stamp in load_stamps(s)}] == [split]
    image = key.removeprefix("tuxpaint:") + ".png"
    assert [s for s in SPLITS if any(path.endswith(image) for path, _ in load_captions("tuxpaint", s))] == [split]


@pytest.mark.parametrize("caption, name", [
    ("A yellow lemon.", "a yellow lemon"),
    ("Anthurium", "an anthurium"),
    ("The house of the hunter.", "the house of the hunter"),
    ("A US 25 cent piece ($.25) called a quarter.", "a US 25 cent piece"),
    ("Penguins are waiting.", None),
    ("Remember to flush the toilet and wash your hands with soap!", None),
])
def test_stamp_name(caption, name):
    assert stamp_name(caption) == name


def test_describe_arrangements():
    goat, cello, frog = ("a goat", 0, 0, 10, 10), ("a cello", 50, 5, 60, 15), ("a frog", 20, 80, 30, 90)
    assert describe([goat]) == "a goat"
    assert describe([goat, cello]) == "a goat to the left of a cello"
    assert describe([cello, goat]) == "a cello to the right of a goat"
    assert describe([goat, frog]) == "a goat above a frog"
    assert describe([frog, goat, cello]) == "a goat, a frog and a cello from left to right"


def test_scenes_are_deterministic_and_boxes_fit(bundled_cache):
    first = stamp_scenes("train", 6, seed=1, image_size=96)
    again = stamp_scenes("train", 6, seed=1, image_size=96)
    assert [s.caption for s in first] == [s.caption for s in again]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        assert a.image.shape == (96, 96, 3) and a.image.dtype == np.uint8
        assert 1 <= len(a.boxes) <= 3
        for name, x0, y0, x1, y1 in a.boxes:
            assert name in a.caption and 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96
    other_seed = stamp_scenes("train", 6, seed=2, image_size=96)
    assert [s.caption for s in other_seed] != [s.caption for s in first]


def test_the_two_held_out_sets(bundled_cache):
    train_keys = {s.key for s in stamp_scenes("train", 30, image_size=64)}
    test_keys = {s.key for s in stamp_scenes("test", 30, image_size=64)}
    assert not train_keys & test_keys  # held out by scene
    train_names = {s.name for s in load_stamps("train") if s.name}
    new_names = {s.name for s in load_stamps("test") if s.name}
    for scene in stamp_scenes(STAMPS_HELD_OUT, 20, image_size=64):
        assert {box[0] for box in scene.boxes} <= new_names  # only stamps from the test split
    for scene in stamp_scenes("test", 20, image_size=64):
        assert {box[0] for box in scene.boxes} <= train_names  # stamps seen in training scenes


def test_scene_arguments_name_the_value():
    with pytest.raises(ValueError, match="'dev'"):
        stamp_scenes("dev", 1)
    with pytest.raises(ValueError, match="image_size.*8"):
        stamp_scenes("train", 1, image_size=8)


def _image(path):
    Image.new("RGB", (4, 4)).save(path)


def test_flickr_folder_both_caption_formats(tmp_path):
    (tmp_path / "Images").mkdir()
    names = [f"{i}.jpg" for i in range(40)]
    for name in names:
        _image(tmp_path / "Images" / name)
    lines = ["image,caption"] + [f'{n},"A dog, number {i}."' for i, n in enumerate(names)]
    lines += [f"{names[0]},Another caption of the first image."]
    (tmp_path / "captions.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = {s: load_captions(tmp_path, s) for s in SPLITS}
    assert sum(len(p) for p in pairs.values()) == 41
    first = str(tmp_path / "Images" / names[0])
    assert sum(image == first for p in pairs.values() for image, _ in p) == 2
    assert len({s for s, p in pairs.items() for image, _ in p if image == first}) == 1

    token_dir = tmp_path / "tokens"
    token_dir.mkdir()
    _image(token_dir / "a.jpg")
    (token_dir / "Flickr8k.token.txt").write_text("a.jpg#0\tA cat.\na.jpg#1\tA small cat.\n", encoding="utf-8")
    assert sorted(c for s in SPLITS for _, c in load_captions(token_dir, s)) == ["A cat.", "A small cat."]


def test_flickr_folder_errors_name_file_and_line(tmp_path):
    _image(tmp_path / "a.jpg")
    (tmp_path / "captions.txt").write_text("image,caption\na.jpg,ok\nb.jpg,missing image\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"captions\.txt:3: expected an image that exists.*'b\.jpg'"):
        load_captions(tmp_path)
    (tmp_path / "captions.txt").write_text("image,caption\na.jpg\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"captions\.txt:2: expected image,caption, got 1 field"):
        load_captions(tmp_path)
    (tmp_path / "captions.txt").unlink()
    with pytest.raises(DataError, match="captions.txt"):
        load_captions(tmp_path)


def test_coco_json(tmp_path):
    data = {"images": [{"id": 1, "file_name": "x.jpg"}, {"id": 2, "file_name": "y.jpg"}],
            "annotations": [{"image_id": 1, "caption": "A red bus."}, {"image_id": 2, "caption": "Two cats."},
                            {"image_id": 1, "caption": "A bus on a street."}]}
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    pairs = [p for s in SPLITS for p in load_captions(path, s, image_dir=tmp_path / "img")]
    assert sorted(pairs) == sorted([(str(tmp_path / "img" / "x.jpg"), "A red bus."),
                                    (str(tmp_path / "img" / "y.jpg"), "Two cats."),
                                    (str(tmp_path / "img" / "x.jpg"), "A bus on a street.")])
    data["annotations"].append({"image_id": 1})
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FormatError, match=r"captions\.json: expected .*'caption'"):
        load_captions(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(FormatError, match=r"captions\.json:1: expected a UTF-8 JSON document"):
        load_captions(path)


def test_unprepared_tfds_coco_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="coco_captions is not prepared"):
        coco_captions_dataset("train", data_dir=str(tmp_path))


def _flickr8k_download(root, names, splits):
    """A Flickr8k download in miniature: token file, the three split files, photos in Flicker8k_Dataset/."""
    photos = root / "Flicker8k_Dataset"
    photos.mkdir(parents=True)
    for name in names:
        _image(photos / name)
    lines = [f"{name}#{i}\tA dog runs number {i} ." for name in names for i in range(5)]
    lines.append("2258277193_586949ec62.jpg.1#0\tA caption whose photo the download lacks .")
    (root / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for split, file_name in FLICKR_SPLIT_FILES.items():
        (root / file_name).write_text("".join(f"{n}\n" for n in splits[split]), encoding="utf-8")


def test_flickr8k_keeps_its_standard_splits_and_skips_captions_of_unlisted_images(tmp_path):
    names = [f"{i}.jpg" for i in range(12)]
    splits = {"train": names[:6], "validation": names[6:9], "test": names[9:11]}  # 11.jpg: in no split
    _flickr8k_download(tmp_path, names, splits)
    for split, listed in splits.items():
        pairs = load_captions(tmp_path, split)
        assert sorted({Path(image).name for image, _ in pairs}) == sorted(listed)
        assert len(pairs) == 5 * len(listed)
    assert caption_report(tmp_path)["test"] == {"images": 2, "captions": 10}


def test_flickr8k_by_name_from_the_downloads_folder_and_a_separate_photo_folder(tmp_path, monkeypatch):
    names = [f"{i}.jpg" for i in range(3)]
    _flickr8k_download(tmp_path / "downloads" / "flickr8k", names,
                       {"train": names[:1], "validation": names[1:2], "test": names[2:]})
    monkeypatch.setenv("SEQMODELS_DOWNLOADS", str(tmp_path / "downloads"))
    monkeypatch.chdir(tmp_path)
    assert [Path(i).name for i, _ in load_captions("flickr8k", "test")] == ["2.jpg"] * 5
    photos = tmp_path / "downloads" / "flickr8k" / "Flicker8k_Dataset"
    moved = photos.rename(tmp_path / "elsewhere")
    with pytest.raises(DataError, match="Flickr8k photos are not there.*--image-dir"):
        load_captions("flickr8k", "test")
    assert len(load_captions("flickr8k", "test", image_dir=moved)) == 5


def test_flickr8k_split_files_must_all_be_there_and_disjoint(tmp_path):
    names = ["a.jpg", "b.jpg", "c.jpg"]
    _flickr8k_download(tmp_path, names, {"train": ["a.jpg", "b.jpg"], "validation": ["b.jpg"], "test": ["c.jpg"]})
    with pytest.raises(FormatError, match=r"devImages\.txt:1: expected an image of one split only; 'b\.jpg'"):
        load_captions(tmp_path, "train")
    (tmp_path / FLICKR_SPLIT_FILES["test"]).unlink()
    with pytest.raises(DataError, match="not Flickr_8k.testImages.txt"):
        load_captions(tmp_path, "train")

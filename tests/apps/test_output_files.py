"""`apps.common.output_files`: a file is whole or absent, and a failure is one line naming it."""

import os

import pytest

from apps.common.output_files import OutputFileError, numbered_path, write_file
from tests.helpers import full_disk


def test_a_file_is_written_whole(tmp_path):
    write_file(str(tmp_path / "a.csv"), lambda temporary: open(temporary, "w").write("x,y\n"))
    assert (tmp_path / "a.csv").read_text() == "x,y\n" and os.listdir(tmp_path) == ["a.csv"]


def test_a_full_disk_leaves_neither_the_file_nor_a_temporary_copy(tmp_path, monkeypatch):
    (tmp_path / "old.png").write_bytes(b"the previous picture")
    full_disk(monkeypatch)
    with pytest.raises(OutputFileError, match=f"cannot write {tmp_path}/old.png: No space left on device"):
        write_file(str(tmp_path / "old.png"), lambda temporary: open(temporary, "wb").write(b"new"))
    assert os.listdir(tmp_path) == ["old.png"] and (tmp_path / "old.png").read_bytes() == b"the previous picture"


def test_a_writer_that_fails_half_way_leaves_nothing(tmp_path):
    def half(temporary):
        open(temporary, "w").write("half")
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        write_file(str(tmp_path / "a.wav"), half)
    assert os.listdir(tmp_path) == []


def test_a_path_the_system_refuses_at_write_time_is_one_error_line():
    # /proc passes a check of permissions as root, and refuses the file only when it is created.
    with pytest.raises(OutputFileError, match=r"^cannot write /proc/x\.png: "):
        write_file("/proc/x.png", lambda temporary: None)


def test_numbered_paths_are_one_per_input():
    assert numbered_path("map.png", 0, 1) == "map.png"
    assert [numbered_path("out/map.png", i, 3) for i in range(3)] == ["out/map-1.png", "out/map-2.png", "out/map-3.png"]
    assert numbered_path("scenes.png", 0, None) == "scenes-1.png"  # numbered whatever the count


def test_a_written_file_has_the_mode_open_would_give_it_not_the_temporary_files_0600(tmp_path):
    import stat
    from pathlib import Path

    previous = os.umask(0o022)
    try:
        write_file(tmp_path / "a.png", lambda temporary: Path(temporary).write_bytes(b"png"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o644


def test_a_model_directorys_json_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """metrics.json (`eval --write`), config.json: a full disk keeps the old file and says so in one line."""
    import json

    from apps.common.model_directory import write_json

    path = tmp_path / "metrics.json"
    write_json(path, {"bleu": 1.0})
    full_disk(monkeypatch)
    with pytest.raises(OutputFileError, match=r"cannot write .*metrics\.json: No space left on device"):
        write_json(path, {"bleu": 2.0})
    assert json.loads(path.read_text()) == {"bleu": 1.0} and os.listdir(tmp_path) == ["metrics.json"]

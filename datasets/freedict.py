"""Headword translations of a FreeDict dictionary in dictd format (.index + .dict.dz).

The .index file lists one headword a line as `headword<TAB>offset<TAB>length`, offset and length
written in base 64 (A-Z a-z 0-9 + /, most significant digit first), pointing into the
uncompressed .dict text. The .dict.dz file is dictzip, which plain gzip reads. An entry reads
    station /steiʃən/
    1. gare
    2. station
the headword with its pronunciation, then one sense a line, numbered when there are several,
each a comma-separated list of French equivalents. Entries whose headword starts with
"00database" are the dictionary's own metadata.

Example:
    >>> read_freedict("freedict-eng-fra.index", "freedict-eng-fra.dict.dz")[:2]
    [('station', 'gare'), ('station', 'station')]
"""

import gzip
import re

from datasets.errors import FormatError

_BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_SENSE_NUMBER = re.compile(r"^\d+\.\s*")


def read_freedict(index_path, dict_path):
    """Returns (english headword, french equivalent) pairs, every equivalent of every sense.

    Args:
        index_path: path-like, the .index file.
        dict_path: path-like, the .dict.dz (or uncompressed .dict) file.

    Returns:
        list of (english, french) str tuples, in index order; within an entry, senses and their
        equivalents in the dictionary's order (so the first is the most usual).

    Raises:
        FormatError: an index line is not `headword<TAB>offset<TAB>length`.
    """
    opener = gzip.open if str(dict_path).endswith(".dz") else open
    with opener(dict_path, "rb") as f:
        text = f.read()
    pairs = []
    with open(index_path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3 or not all(c in _BASE64 for c in fields[1] + fields[2]):
                raise FormatError(index_path, number, "headword<TAB>offset<TAB>length (base 64)")
            headword, offset, length = fields[0].strip(), _decode(fields[1]), _decode(fields[2])
            if headword.startswith("00database"):
                continue
            entry = text[offset:offset + length].decode("utf-8").splitlines()
            for sense in entry[1:]:  # the first line repeats the headword with its pronunciation
                for french in _SENSE_NUMBER.sub("", sense).split(","):
                    if french.strip():
                        pairs.append((headword, french.strip()))
    return pairs


def _decode(digits):
    value = 0
    for digit in digits:
        value = value * 64 + _BASE64[digit]
    return value

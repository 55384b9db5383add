import gzip

import pytest

from datasets.errors import FormatError
from datasets.freedict import read_freedict

DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def base64(number):
    digits = ""
    while True:
        number, digit = divmod(number, 64)
        digits = DIGITS[digit] + digits
        if not number:
            return digits


def write_dictionary(tmp_path, entries):
    """A dictd .index and .dict.dz pair with the given {headword: entry text}."""
    text, index = b"", []
    for headword, entry in entries.items():
        data = entry.encode()
        index.append(f"{headword}\t{base64(len(text))}\t{base64(len(data))}\n")
        text += data
    index_path, dict_path = tmp_path / "eng-fra.index", tmp_path / "eng-fra.dict.dz"
    index_path.write_text("".join(index), encoding="utf-8")
    dict_path.write_bytes(gzip.compress(text))
    return index_path, dict_path


def test_every_equivalent_of_every_sense_in_order(tmp_path):
    paths = write_dictionary(tmp_path, {
        "00databaseinfo": "00-database-info\nEnglish-French FreeDict Dictionary\n",
        "station": "station /steiʃən/\n1. gare\n2. station\n",
        "stature": "stature /stætʃər/\nstature, taille\n",
        "breakfast": "breakfast /brekfəst/\npetit déjeuner\n",
    })
    assert read_freedict(*paths) == [("station", "gare"), ("station", "station"), ("stature", "stature"),
                                     ("stature", "taille"), ("breakfast", "petit déjeuner")]


def test_a_bad_index_line_names_file_and_line(tmp_path):
    index_path, dict_path = write_dictionary(tmp_path, {"station": "station\ngare\n"})
    index_path.write_text("station\tA\tJ\nbroken line\n", encoding="utf-8")
    with pytest.raises(FormatError, match=r"eng-fra\.index:2: expected headword<TAB>offset<TAB>length"):
        read_freedict(index_path, dict_path)

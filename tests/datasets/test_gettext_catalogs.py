import gettext
import struct

import pytest

from datasets.errors import FormatError
from datasets.gettext_catalogs import Message, plural_indices, read_mo, read_po

FRENCH_HEADER = b"Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n > 1);\n"
# The rule Weblate writes for French today (FreeDroidRPG uses it): a third form for millions.
CLDR_FRENCH_HEADER = (b"Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=3; "
                      b"plural=(n == 0 || n == 1) ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2;\n")


def write_mo(path, entries, order="<"):
    """Writes a .mo file by hand: a 28-byte header, the two (length, offset) tables, the strings."""
    count = len(entries)
    originals, translations = 28, 28 + 8 * count
    data = b""
    tables = {originals: [], translations: []}
    start = 28 + 16 * count
    for original, translation in entries:
        for table, string in ((originals, original), (translations, translation)):
            tables[table].append((len(string), start + len(data)))
            data += string + b"\x00"
    magic = 0x950412DE
    header = struct.pack(f"{order}7I", magic, 0, count, originals, translations, 0, 0)
    body = b"".join(struct.pack(f"{order}2I", *pair) for pair in tables[originals] + tables[translations])
    path.write_bytes(header + body + data)
    return path


ENTRIES = [
    (b"", FRENCH_HEADER),
    (b"Hello there, friend.", b"Bonjour, mon ami."),
    (b"door\x04Open", b"Ouvrir"),  # the same English under two contexts: two translations
    (b"book\x04Open", b"Ouvert"),
    (b"One apple fell.\x00%d apples fell.", b"Une pomme est tomb\xc3\xa9e.\x00%d pommes sont tomb\xc3\xa9es."),
    (b"Not translated yet.", b""),
]
EXPECTED = [
    Message(None, "Hello there, friend.", "Bonjour, mon ami."),
    Message("door", "Open", "Ouvrir"),
    Message("book", "Open", "Ouvert"),
    Message(None, "One apple fell.", "Une pomme est tombée.", "singular"),
    Message(None, "%d apples fell.", "%d pommes sont tombées.", "plural"),
]


@pytest.mark.parametrize("order", ["<", ">"])
def test_read_mo_keeps_contexts_and_plurals_and_skips_the_header(tmp_path, order):
    assert read_mo(write_mo(tmp_path / "fr.mo", ENTRIES, order)) == EXPECTED


def test_read_mo_agrees_with_gettext_on_ordinary_messages(tmp_path):
    """The Wesnoth corpus was recorded through gettext's lookup table: the raw reader must give
    the same messages under the same "context\\x04english" keys."""
    path = write_mo(tmp_path / "fr.mo", ENTRIES)
    with open(path, "rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    expected = {k: v for k, v in catalog.items() if isinstance(k, str) and k and v}
    ours = {(f"{m.context}\x04" if m.context is not None else "") + m.english: m.french
            for m in read_mo(path) if m.form is None}
    assert ours == expected


def test_read_mo_follows_the_catalogues_plural_rule(tmp_path):
    entries = [(b"", CLDR_FRENCH_HEADER),
               (b"one robot\x00%d robots", b"un robot\x00un million de robots\x00%d robots")]
    messages = read_mo(write_mo(tmp_path / "fr.mo", entries))
    assert [(m.english, m.french) for m in messages] == [("one robot", "un robot"), ("%d robots", "%d robots")]
    assert plural_indices(CLDR_FRENCH_HEADER.decode()) == (0, 2)
    assert plural_indices("") == (0, 1)


def test_read_mo_decodes_the_header_charset(tmp_path):
    entries = [(b"", b"Content-Type: text/plain; charset=ISO-8859-1\n"),
               (b"Summer is here.", b"L'\xe9t\xe9 est l\xe0.")]
    assert read_mo(write_mo(tmp_path / "fr.mo", entries)) == [Message(None, "Summer is here.", "L'été est là.")]


def test_read_mo_refuses_another_file(tmp_path):
    path = tmp_path / "fr.po"
    path.write_text('msgid "x"\nmsgstr "y"\n')
    with pytest.raises(FormatError, match=r"fr\.po: expected a gettext \.mo file"):
        read_mo(path)


PO = r'''# French translation.
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

#: src/main.c:10
msgid "Hello there, friend."
msgstr "Bonjour, mon ami."

#, fuzzy
msgid "A guess of the translator."
msgstr "Une supposition."

msgctxt "door"
msgid "Open"
msgstr "Ouvrir"

msgid ""
"A long message "
"on two lines with \"quotes\"."
msgstr ""
"Un long message "
"sur deux lignes avec des « guillemets »."

msgid "One apple fell."
msgid_plural "%d apples fell."
msgstr[0] "Une pomme est tombée."
msgstr[1] "%d pommes sont tombées."

msgid "Not translated yet."
msgstr ""

#~ msgid "An obsolete message."
#~ msgstr "Un message obsolète."
'''


def test_read_po_skips_header_fuzzy_obsolete_and_untranslated(tmp_path):
    path = tmp_path / "fr.po"
    path.write_text(PO, encoding="utf-8")
    assert read_po(path) == [
        Message(None, "Hello there, friend.", "Bonjour, mon ami."),
        Message("door", "Open", "Ouvrir"),
        Message(None, 'A long message on two lines with "quotes".',
                "Un long message sur deux lignes avec des « guillemets »."),
        Message(None, "One apple fell.", "Une pomme est tombée.", "singular"),
        Message(None, "%d apples fell.", "%d pommes sont tombées.", "plural"),
    ]


def test_read_po_names_file_and_line_of_a_bad_line(tmp_path):
    path = tmp_path / "bad.po"
    path.write_text('msgid "Hello"\nmsgstr "Bonjour"\nthis is not po\n', encoding="utf-8")
    with pytest.raises(FormatError, match=r"bad\.po:3: expected a \.po keyword"):
        read_po(path)

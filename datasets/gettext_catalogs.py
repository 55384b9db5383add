"""Messages of GNU gettext catalogues, compiled (.mo) or source (.po), read raw.

`gettext.GNUTranslations` is built for looking strings up, not for listing them: it keeps a plural
entry under (singular, index) keys and so loses the English plural, folds a context into the key
as "context\\x04msgid", and lists the header as the message "". Reading the file ourselves gives
every entry whole, with its context apart.

A plural entry becomes two messages: the English singular with the French form used for n = 1,
and the English plural with the form used for n = 2. The forms are chosen by the catalogue's own
`Plural-Forms` rule (French is usually `plural=(n > 1)`: forms 0 and 1, but some catalogues use
three forms, the second one for millions), so no language's rule is assumed.

The .mo layout (GNU gettext manual, "The Format of GNU MO Files"): a magic number that also gives
the byte order, a revision, the number of strings N, and the offsets of two tables of N
(length, offset) pairs, the originals and the translations. An original is
`[context "\\x04"] msgid ["\\x00" msgid_plural]`, a translation `msgstr[0] ["\\x00" msgstr[1] ...]`.
The entry whose msgid is empty is the header, which names the charset and the plural rule.

Example:
    >>> [m for m in read_mo("fr/LC_MESSAGES/wesnoth-httt.mo") if m.english.startswith("A hollow")]
    [Message(context=None, english='A hollow screech echoes throughout the caverns. The air suddenly seems
    fresher and lighter.', french="L'écho d'un hurlement assourdi traverse les cavernes. L'air semble
    soudain plus frais et plus lumineux.", form=None)]
"""

import ast
import gettext
import re
import struct
import typing

from datasets.errors import FormatError

_MO_MAGIC = {b"\xde\x12\x04\x95": "<", b"\x95\x04\x12\xde": ">"}  # little- and big-endian files
_CHARSET = re.compile(r"charset=\s*([\w.:-]+)", re.IGNORECASE)
_PLURAL = re.compile(r"plural\s*=\s*([^;\n]+)", re.IGNORECASE)
_NPLURALS = re.compile(r"nplurals\s*=\s*(\d+)", re.IGNORECASE)


class Message(typing.NamedTuple):
    """One English -> French message of a catalogue.

    Fields:
        context: str or None, the message context (msgctxt): the same English can be translated
            differently under different contexts, and both are kept.
        english: str, the source text.
        french: str, its translation.
        form: None for an ordinary message; "singular" or "plural" for the two sides of a plural
            entry (callers that never read plurals before can skip them).
    """

    context: str | None
    english: str
    french: str
    form: str | None = None


def read_mo(path):
    """Returns the messages of a compiled .mo catalogue, in file order, without the header.

    Args:
        path: path-like, the .mo file.

    Returns:
        list of `Message`. Entries without a translation are left out.

    Raises:
        FormatError: the file is not a .mo catalogue.
    """
    with open(path, "rb") as f:
        data = f.read()
    order = _MO_MAGIC.get(data[:4])
    if order is None or len(data) < 20:
        raise FormatError(path, None, "a gettext .mo file (magic number 0x950412de)")
    revision, count, originals, translations = struct.unpack_from(f"{order}4I", data, 4)
    if revision >> 16 > 1:
        raise FormatError(path, None, f"a .mo file of major revision 0 or 1, got {revision >> 16}")

    def string(table, i):
        length, offset = struct.unpack_from(f"{order}2I", data, table + 8 * i)
        if offset + length > len(data):
            raise FormatError(path, None, f"a .mo file whose string {i} lies inside it (truncated file?)")
        return data[offset:offset + length]

    entries = [(string(originals, i), string(translations, i)) for i in range(count)]
    header = next((t for o, t in entries if o == b""), b"").decode("utf-8", "replace")
    charset = _header_charset(header)
    singular, plural = plural_indices(header)
    messages = []
    for original, translation in entries:
        if original == b"":
            continue
        original, translation = original.decode(charset), translation.decode(charset)
        context, _, ids = original.rpartition("\x04") if "\x04" in original else (None, "", original)
        messages += _expand(context, ids.split("\x00"), translation.split("\x00"), singular, plural)
    return messages


def read_po(path):
    """Returns the messages of a source .po catalogue, in file order, without the header.

    Fuzzy entries (a guess the translator has not confirmed), obsolete ones (`#~`) and untranslated
    ones are left out.

    Args:
        path: path-like, the .po file.

    Returns:
        list of `Message`.

    Raises:
        FormatError: naming the file and line, for a line that is not .po syntax.
    """
    with open(path, "rb") as f:
        raw = f.read()
    header_charset = _CHARSET.search(raw[:4096].decode("ascii", "replace"))
    text = raw.decode(_charset_name(header_charset.group(1)) if header_charset else "utf-8")
    entries, header = [], ""
    for entry in _po_entries(path, text.splitlines()):
        ids = [entry.get("msgid", "")] + ([entry["msgid_plural"]] if "msgid_plural" in entry else [])
        if ids[0] == "" and "msgctxt" not in entry:
            header = entry["msgstr"][0]
        elif not entry["fuzzy"]:
            entries.append((entry.get("msgctxt"), ids, entry["msgstr"]))
    singular, plural = plural_indices(header)
    messages = []
    for context, ids, strings in entries:
        messages += _expand(context, ids, strings, singular, plural)
    return messages


def plural_indices(header):
    """Which translation forms go with n = 1 and n = 2 under the header's `Plural-Forms` rule.

    Args:
        header: str, the catalogue header ("" when there is none).

    Returns:
        (singular_index, plural_index), ints; (0, 1), French's usual rule, when the header has none.
    """
    rule, count = _PLURAL.search(header), _NPLURALS.search(header)
    if rule is None:
        return 0, 1
    try:
        choose = gettext.c2py(rule.group(1).strip())
    except (ValueError, SyntaxError):  # a malformed rule: fall back to the usual one
        return 0, 1
    indices = choose(1), choose(2)
    if count is not None and not all(0 <= i < int(count.group(1)) for i in indices):
        return 0, 1
    return indices


def _expand(context, ids, strings, singular, plural):
    """Turns one catalogue entry into its messages (two for a plural entry)."""
    if len(ids) == 1:
        return [Message(context, ids[0], strings[0])] if strings and strings[0] else []
    messages = []
    for english, index, form in ((ids[0], singular, "singular"), (ids[1], plural, "plural")):
        french = strings[index] if index < len(strings) else ""
        if french:
            messages.append(Message(context, english, french, form))
    return messages


def _header_charset(header):
    match = _CHARSET.search(header)
    return _charset_name(match.group(1)) if match else "utf-8"


def _charset_name(name):
    # "CHARSET" is what an unfilled template header says; such files are ASCII or UTF-8 in practice.
    return "utf-8" if name.upper() == "CHARSET" else name


_KEYWORD = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")$")


def _po_entries(path, lines):
    """Yields each entry of a .po file as {"msgid": str, ..., "msgstr": [str, ...], "fuzzy": bool}.

    An entry ends where the next one starts (a msgctxt or msgid after a msgstr) or at a comment or
    blank line after its msgstr. A "#, fuzzy" flag belongs to the entry that follows it.
    """
    entry, fuzzy, last = {}, False, None
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):  # comments; "#~" lines are obsolete entries
            if "msgstr" in entry:
                yield entry
                entry, last = {}, None
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, quoted = match.groups()
            if keyword in ("msgctxt", "msgid") and "msgstr" in entry:
                yield entry
                entry = {}
            if not entry:
                entry["fuzzy"], fuzzy = fuzzy, False
            if keyword.startswith("msgstr"):
                strings = entry.setdefault("msgstr", [])
                strings.append(_po_string(path, number, quoted))
                last = ("msgstr", len(strings) - 1)
                if index is not None and int(index) != len(strings) - 1:
                    raise FormatError(path, number, f"msgstr[{len(strings) - 1}], got {keyword}")
            else:
                entry[keyword] = _po_string(path, number, quoted)
                last = (keyword, None)
        elif line.startswith('"') and last is not None:
            keyword, index = last
            if index is None:
                entry[keyword] += _po_string(path, number, line)
            else:
                entry[keyword][index] += _po_string(path, number, line)
        else:
            raise FormatError(path, number, f'a .po keyword (msgid, msgstr, ...) or a "string", got {line[:40]!r}')
    if "msgstr" in entry:
        yield entry


def _po_string(path, number, quoted):
    """The text of one C-quoted .po string ("..." with \\n, \\t, \\" and \\\\ escapes)."""
    try:
        value = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        raise FormatError(path, number, f"a C-quoted string, got {quoted[:40]!r}") from None
    if not isinstance(value, str):
        raise FormatError(path, number, f"a C-quoted string, got {quoted[:40]!r}")
    return value

"""Messages of a compiled Qt translation file (.qm), read raw.

A .qm file (Qt's `QTranslator`, written by `lrelease`) is a 16-byte magic number followed by
sections, each a tag byte, a big-endian 32-bit length and that many bytes. The messages section
(tag 0x69) is a run of records, each a tag byte and, for most tags, a 32-bit length and data:
  1  end of the message (no data)
  3  a translation, UTF-16BE (length 0xffffffff: none); a plural ("numerus") message has several
  5  an obsolete hash (4 bytes, no length)
  6  the source text, UTF-8
  7  the context, UTF-8
  8  the comment (disambiguation), UTF-8
`lrelease` keeps the source text, so a .qm file is a complete English -> French catalogue.

Example:
    >>> read_qm("gcompris_fr.qm")[0]
    Message(context='ActivityConfig', english='1 player', french='Un joueur', form=None)
"""

import struct

from datasets.errors import FormatError
from datasets.gettext_catalogs import Message

QM_MAGIC = bytes.fromhex("3cb86418caef9c95cd211cbf60a1bddd")
MESSAGES_SECTION = 0x69
_END, _TRANSLATION, _OBSOLETE1, _SOURCE, _CONTEXT, _COMMENT, _OBSOLETE2 = 1, 3, 5, 6, 7, 8, 9
_NO_TRANSLATION = 0xFFFFFFFF


def read_qm(path):
    """Returns the translated messages of a .qm file, in file order.

    Plural ("numerus") messages, whose several translations all answer one English text with a
    "%n" count in it, and messages without a source text or a translation are left out.

    Args:
        path: path-like, the .qm file.

    Returns:
        list of `datasets.gettext_catalogs.Message` (context None when the message has none).

    Raises:
        FormatError: the file is not a .qm file or is truncated.
    """
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(QM_MAGIC):
        raise FormatError(path, None, "a Qt .qm file (magic number 3cb86418...)")
    position, messages = len(QM_MAGIC), []
    while position + 5 <= len(data):
        tag, length = struct.unpack_from(">BI", data, position)
        position += 5
        if tag == MESSAGES_SECTION:
            messages += _messages(path, data[position:position + length])
        position += length
    return messages


def _messages(path, section):
    """Parses the records of the messages section."""
    messages, record, position = [], _new_record(), 0
    while position < len(section):
        tag = section[position]
        position += 1
        if tag == _END:
            if record["source"] and len(record["translations"]) == 1 and record["translations"][0]:
                messages.append(Message(record["context"] or None, record["source"], record["translations"][0]))
            record = _new_record()
        elif tag == _OBSOLETE1:
            position += 4
        elif tag == _OBSOLETE2:
            continue
        elif tag in (_TRANSLATION, _SOURCE, _CONTEXT, _COMMENT):
            if position + 4 > len(section):
                raise FormatError(path, None, "a complete .qm messages section (truncated file?)")
            (length,) = struct.unpack_from(">I", section, position)
            position += 4
            if tag == _TRANSLATION and length == _NO_TRANSLATION:
                record["translations"].append("")
                continue
            value = section[position:position + length]
            position += length
            if tag == _TRANSLATION:
                record["translations"].append(value.decode("utf-16-be"))
            elif tag == _SOURCE:
                record["source"] = value.decode("utf-8").rstrip("\x00")
            elif tag == _CONTEXT:
                record["context"] = value.decode("utf-8").rstrip("\x00")
        else:
            raise FormatError(path, None, f"a known .qm record tag (1, 3, 5-9), got {tag}")
    return messages


def _new_record():
    return {"source": "", "context": "", "translations": []}

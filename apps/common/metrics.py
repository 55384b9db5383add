"""Corpus-level scores of generated text against references."""

import sacrebleu
from sacrebleu.metrics import CHRF


def corpus_scores(hypotheses, references):
    """Corpus BLEU (SacreBLEU, 13a tokenisation) and chrF, one reference per hypothesis, in %.

    Case-insensitive: the models' vocabularies are lower-case (only the first letter of an
    output is capitalised), so cased scores would mostly measure capitalisation.
    """
    if not hypotheses:
        raise ValueError("corpus_scores needs at least one hypothesis; got none")
    return {
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references], tokenize="13a", lowercase=True).score, 2),
        "chrf": round(CHRF(lowercase=True).corpus_score(hypotheses, [references]).score, 2),
    }

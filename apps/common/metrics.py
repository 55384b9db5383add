"""Corpus-level scores of generated text against references."""

import sacrebleu


def corpus_scores(hypotheses, references):
    """Corpus BLEU (SacreBLEU, 13a tokenisation) and chrF, one reference per hypothesis, in %."""
    return {
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references], tokenize="13a").score, 2),
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 2),
    }

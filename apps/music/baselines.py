"""Simple models the LSTMs must beat, on the same tokens or frames and the same split.

Melodies: `NGramModel`, an interpolated Witten-Bell n-gram over event tokens (Witten and Bell
1991; Chen and Goodman 1999, section 2.5). With h the n - 1 tokens before w, h' its last n - 2:

    p(w | h) = (c(h, w) + T(h) p(w | h')) / (c(h) + T(h))     if c(h) > 0, else p(w | h')
    p(w | ())  interpolates the unigram counts with the uniform 1 / V the same way

c(h, w): how often w followed h in training, c(h) = sum_w c(h, w), T(h): how many different
tokens followed h. A context starting before the sequence is padded with its first token
(<start>).

Chorales: per-key Bernoulli models of a frame, summed over the 88 keys as the benchmark's NLL is
(`frame_nll`, which also scores the LSTM in `eval`). `KeyMarginal` gives each key its training
frequency; `KeyMarkov` a first-order chain per key, p(on at t | on or off at t - 1), which already
captures that chorale notes are held.
"""

import collections
import math

import numpy as np


class NGramModel:
    """Interpolated Witten-Bell n-gram over token ids.

    Args:
        order: int >= 1, n (1 = unigram, interpolated with uniform).
        vocabulary_size: int, V, the ids' range (the uniform floor).

    Example:
        >>> model = NGramModel(2, 5).fit([[2, 3, 4, 3, 4]])
        >>> round(model.probability((3,), 4), 4)  # (2 + 1 * p(4)) / (2 + 1), p(4) = (2 + 2 / 5) / (4 + 2)
        0.8
    """

    def __init__(self, order, vocabulary_size):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be a positive integer, got {order!r}")
        self.order, self.vocabulary_size = order, int(vocabulary_size)
        # counts[m][h] = Counter of the tokens after context h of length m.
        self.counts = [collections.defaultdict(collections.Counter) for _ in range(order)]

    def fit(self, sequences):
        """Counts every token after the first of each sequence, with contexts of 0 .. n - 1 tokens."""
        for sequence in sequences:
            padded = [sequence[0]] * (self.order - 1) + list(sequence)
            for i in range(self.order, len(padded)):
                for m in range(self.order):
                    self.counts[m][tuple(padded[i - m : i])][padded[i]] += 1
        self._totals = [{h: (sum(c.values()), len(c)) for h, c in level.items()} for level in self.counts]
        return self

    def probability(self, context, token, order=None):
        """p(token | the last order - 1 tokens of context), order defaulting to the model's."""
        order = self.order if order is None else min(order, self.order)
        p = 1.0 / self.vocabulary_size
        for m in range(order):
            h = tuple(context[len(context) - m :]) if m else ()
            if len(h) < m:
                break
            total, types = self._totals[m].get(h, (0, 0))
            if total:
                p = (self.counts[m][h][token] + types * p) / (total + types)
        return p

    def nll(self, sequences, skip=1, order=None):
        """(summed -log p in nats, tokens scored) over every position >= `skip` of each sequence."""
        total, count = 0.0, 0
        for sequence in sequences:
            padded = [sequence[0]] * (self.order - 1) + list(sequence)
            offset = self.order - 1
            for i in range(offset + max(skip, 1), len(padded)):
                total -= math.log(self.probability(padded[i - self.order + 1 : i], padded[i], order))
                count += 1
        return total, count


def frame_nll(frames, logits):
    """The NLL of each frame in nats, the JSB protocol's: the summed Bernoulli NLLs of its K keys.

        NLL(frame t) = -sum_k [v_tk log sigmoid(z_tk) + (1 - v_tk) log(1 - sigmoid(z_tk))]
                     =  sum_k [max(z_tk, 0) - z_tk v_tk + log(1 + exp(-|z_tk|))]    (stable form)

    The NumPy twin of `apps.music.model.frame_nll` (the Keras training loss, the mean of these
    over the real frames of a batch); evaluation and the baselines score with this one.

    Args:
        frames: (..., F, K) targets, 0 or 1.
        logits: (..., F, K), log p / (1 - p) of each key sounding.

    Returns:
        (..., F) float64, one NLL per frame.

    Example:
        >>> import numpy as np
        >>> round(float(frame_nll(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]))[0]), 4)  # 2 log 2
        1.3863
    """
    z = np.asarray(logits, dtype=np.float64)
    v = np.asarray(frames, dtype=np.float64)
    return np.sum(np.maximum(z, 0) - z * v + np.log1p(np.exp(-np.abs(z))), axis=-1)


def _logit(p):
    """log p / (1 - p): a baseline's probabilities as the logits `frame_nll` takes."""
    return np.log(p) - np.log1p(-p)


class KeyMarginal:
    """Each key on with its training frequency, independently of the others and of the past.

    Frequencies are add-one smoothed: (on + 1) / (frames + 2).
    """

    name = "per-key marginal"

    def fit(self, rolls):
        frames = np.concatenate(rolls)
        self.p = (frames.sum(axis=0) + 1.0) / (len(frames) + 2.0)
        return self

    def nll(self, rolls, skip=1):
        """(summed frame NLL, frames scored), frames from index `skip` of each roll."""
        total, count = 0.0, 0
        for roll in rolls:
            scored = roll[skip:]
            total += float(frame_nll(scored, np.broadcast_to(_logit(self.p), scored.shape)).sum())
            count += len(scored)
        return total, count


class KeyMarkov:
    """Each key a two-state Markov chain: p(on at t | state at t - 1), add-one smoothed.

    Before the first frame every key is off (the start frame the LSTM also reads).
    """

    name = "per-key Markov chain"

    def fit(self, rolls):
        on_after = np.zeros((2, rolls[0].shape[1]))  # [previous state, key]: times on
        seen = np.zeros((2, rolls[0].shape[1]))
        for roll in rolls:
            previous = np.concatenate([np.zeros_like(roll[:1]), roll[:-1]]).astype(int)
            for state in (0, 1):
                where = previous == state
                on_after[state] += np.sum(roll * where, axis=0)
                seen[state] += np.sum(where, axis=0)
        self.p = (on_after + 1.0) / (seen + 2.0)  # (2, K)
        return self

    def nll(self, rolls, skip=1):
        total, count = 0.0, 0
        for roll in rolls:
            previous = np.concatenate([np.zeros_like(roll[:1]), roll[:-1]]).astype(int)
            p = np.take_along_axis(self.p, previous, axis=0)  # (F, K): each frame's p(on)
            total += float(frame_nll(roll[skip:], _logit(p[skip:])).sum())
            count += len(roll) - skip
        return total, count

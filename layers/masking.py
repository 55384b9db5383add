"""Mask helpers shared by the attention layers: one place that decides who may attend to whom.

Convention (the Keras one): a mask value of True / 1 means "may attend" or "is a
real token"; False / 0 means "padding" or "must not see". Shapes use B batch,
T queries, S keys.

Implicit Keras masks reach our layers through Keras' own convention: a call
argument named `<tensor argument>_mask` (e.g. `query_mask`, `keys_mask`) is
filled with the mask a previous layer (Embedding(mask_zero=True), ...) attached
to that tensor, unless the caller passes one explicitly. Beware: `keras.ops`
arithmetic between layers (`x + positions(x)`) drops the implicit mask, so
models pass padding masks explicitly after such a step.
"""

from keras import ops


def _large_negative(dtype):
    """A score that softmax turns into exactly 0, representable in `dtype` (float16 tops at 65504)."""
    return -3e4 if str(dtype).endswith("float16") else -1e9


def causal_mask(query_length, key_length, start_index=0):
    """Boolean (T, S) mask: query i (at absolute position start_index + i) sees keys <= its position."""
    query_positions = ops.arange(query_length) + start_index
    key_positions = ops.arange(key_length)
    return ops.greater_equal(query_positions[:, None], key_positions[None, :])


def merge_attention_masks(
    query_mask=None,
    key_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    query_length=None,
    key_length=None,
    causal_start_index=0,
):
    """Combines padding, explicit and causal masks into one boolean (B, T, S) mask, or None.

    Args:
        query_mask: (B, T) padding mask of the queries, or None.
        key_mask: (B, S) padding mask of the keys/values, or None.
        attention_mask: (B, T, S) explicit mask, or None.
        use_causal_mask: bool, whether query i may only see keys j <= i.
        query_length, key_length: T and S, needed when `use_causal_mask`.
        causal_start_index: absolute position of the first query (incremental decoding).
    """
    mask = None

    def _and(a, b):
        return b if a is None else ops.logical_and(a, b)

    if query_mask is not None:
        mask = _and(mask, ops.cast(query_mask, "bool")[:, :, None])  # (B, T, 1)
    if key_mask is not None:
        mask = _and(mask, ops.cast(key_mask, "bool")[:, None, :])  # (B, 1, S)
    if attention_mask is not None:
        mask = _and(mask, ops.cast(attention_mask, "bool"))  # (B, T, S)
    if use_causal_mask:
        causal = causal_mask(query_length, key_length, causal_start_index)
        mask = _and(mask, causal[None, :, :])  # (1, T, S)
    return mask


def masked_softmax(scores, mask=None, axis=-1):
    """Softmax of `scores` over `axis` that gives exactly zero weight where `mask` is False.

    Matches `keras.layers.Softmax` with a mask: masked scores are replaced by a
    large negative number before the softmax and the result is zeroed there
    after it, so a row with no visible key gives all zeros rather than NaN.
    """
    if mask is None:
        return ops.softmax(scores, axis=axis)
    mask = ops.cast(mask, "bool")
    scores = ops.where(mask, scores, ops.cast(_large_negative(scores.dtype), scores.dtype))
    weights = ops.softmax(scores, axis=axis)
    return ops.where(mask, weights, ops.zeros_like(weights))

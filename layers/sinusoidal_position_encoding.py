"""The fixed sinusoidal position signal of "Attention Is All You Need"."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqmodels")
class SinusoidalPositionEncoding(keras.layers.Layer):
    """Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5).

    For position p and feature pair index i of a D-wide model:

        PE(p, 2i)   = sin(p / W^(2i / D))
        PE(p, 2i+1) = cos(p / W^(2i / D))

    with W the maximum wavelength (10000). Returns the encoding only (add it to
    the embeddings yourself), like `keras_hub.layers.SinePositionEncoding`.

    Args:
        max_wavelength: float, W. Defaults to 10000.

    Call arguments:
        inputs: (B, T, D) embeddings; only their shape is used.
        start_index: int or scalar tensor, the position of the first step.
            During incremental decoding the one new token at position t is
            encoded with `start_index=t`.

    Returns:
        (B, T, D) encodings of positions start_index .. start_index + T - 1.

    Example:
    >>> SinusoidalPositionEncoding()(np.zeros((1, 3, 4))).shape
    (1, 3, 4)
    """

    def __init__(self, max_wavelength=10000.0, **kwargs):
        super().__init__(**kwargs)
        if max_wavelength <= 0:
            raise ValueError(f"`max_wavelength` must be positive, got {max_wavelength!r}")
        self.max_wavelength = max_wavelength
        self.supports_masking = True  # an added position signal keeps the padding mask

    def call(self, inputs, start_index=0):
        shape = ops.shape(inputs)
        length, depth = shape[-2], shape[-1]
        positions = ops.cast(ops.arange(length) + start_index, self.compute_dtype)  # (T,)
        pair_index = ops.cast(2 * (ops.arange(depth) // 2), self.compute_dtype)  # 2i, (D,)
        inverse_wavelengths = ops.power(
            ops.cast(1.0 / self.max_wavelength, self.compute_dtype),
            pair_index / ops.cast(depth, self.compute_dtype),
        )  # 1 / W^(2i/D)
        angles = positions[:, None] * inverse_wavelengths[None, :]  # (T, D)
        is_odd = ops.cast(ops.arange(depth) % 2, "bool")
        encoding = ops.where(is_odd[None, :], ops.cos(angles), ops.sin(angles))  # (T, D)
        return ops.broadcast_to(encoding, shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config

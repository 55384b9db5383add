"""Keras layers from the theory of sequence models, written with `keras.ops` only (any backend)."""

from layers.attention_gru_decoder import AttentionGRUDecoder
from layers.attention_pooling import AttentionPooling
from layers.bahdanau_attention import BahdanauAttention
from layers.feed_forward import PositionwiseFeedForward
from layers.gru_cell import GRUCell
from layers.lstm_cell import LSTMCell
from layers.multi_head_attention import MaskedMultiHeadAttention, scaled_dot_product_attention
from layers.sinusoidal_position_encoding import SinusoidalPositionEncoding
from layers.soft_visual_attention import SoftVisualAttention
from layers.transformer_decoder_block import TransformerDecoderBlock
from layers.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "AttentionGRUDecoder",
    "AttentionPooling",
    "BahdanauAttention",
    "GRUCell",
    "LSTMCell",
    "MaskedMultiHeadAttention",
    "PositionwiseFeedForward",
    "SinusoidalPositionEncoding",
    "SoftVisualAttention",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "scaled_dot_product_attention",
]

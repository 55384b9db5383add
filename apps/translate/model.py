"""English->French translation models: attention-GRU, Transformer, and the tutorial baseline.

All three are `keras.Model`s with one interface, so training, decoding, evaluation and export
are shared (`apps.common`):

    model([source_ids, target_in_ids])          -> logits (B, T, V), teacher-forced training
    model.encode(source_ids, max_output_length) -> (state, constants) for decoding
    model.step(tokens, state, constants, index) -> (logits (N, V), state, {"attention": (N, S)})

Token id 0 is padding in both vocabularies (TextVectorization's convention).
"""

import math

import keras
import numpy as np
from keras import ops

from apps.common import training
from apps.translate.presets import PRESETS  # noqa: F401  (re-exported beside ARCHITECTURES)
from layers import (
    AttentionGRUDecoder,
    GRUCell,
    SinusoidalPositionEncoding,
    TransformerDecoderBlock,
    TransformerEncoderBlock,
)

PAD_ID = 0


def example_batch():
    """A tiny batch that builds every weight of a translation model."""
    return [np.array([[1, 1, 0]]), np.array([[1, 1]])]  # ids every vocabulary has ("[UNK]")


def _masked_mean(sequence, mask):
    """Mean over the real (unmasked) steps: (B, S, K), (B, S) -> (B, K)."""
    weights = ops.cast(mask, sequence.dtype)[:, :, None]
    return ops.sum(sequence * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)


@keras.saving.register_keras_serializable(package="seqmodels.translate")
class AttentionGRUTranslator(keras.Model):
    """RNNsearch (Bahdanau et al. 2015): bidirectional GRU encoder, attention-GRU decoder.

        h_1..h_S = BiGRU(E_src x)                               encoder, (B, S, H)
        s_0      = tanh(W_init mean(h))                          initial decoder state
        s_t, c_t = AttentionGRUDecoder(y_{t-1}, s_{t-1}, h)      attend with s_{t-1}, then update
        p(y_t)   = softmax(W_o LayerNorm(W_r [s_t; c_t; y_{t-1}]))

    The readout is normalised rather than squashed: with the paper's tanh (or maxout) deep
    output this model sat at unigram loss for hundreds of steps on the bundled corpus, while
    a LayerNorm readout learned as fast as the tutorial baseline (measured, see the card).

    Args:
        source_vocab_size, target_vocab_size: int.
        embedding_dim: int, E. units: int, H (the encoder's two directions have H/2 each).
        dropout: float, on embeddings and on the readout.
    """

    def __init__(
        self, source_vocab_size, target_vocab_size, embedding_dim=128, units=256, dropout=0.2, **kwargs
    ):
        super().__init__(**kwargs)
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.embedding_dim, self.units, self.dropout_rate = embedding_dim, units, dropout
        self.source_embedding = keras.layers.Embedding(
            source_vocab_size, embedding_dim, name="source_embedding"
        )
        self.encoder = keras.layers.Bidirectional(
            keras.layers.RNN(GRUCell(units // 2), return_sequences=True), name="encoder"
        )
        self.initial_state = keras.layers.Dense(units, activation="tanh", name="initial_state")
        self.target_embedding = keras.layers.Embedding(
            target_vocab_size, embedding_dim, name="target_embedding"
        )
        self.decoder = AttentionGRUDecoder(units, name="decoder")
        self.readout = keras.layers.Dense(units, name="readout")
        self.readout_norm = keras.layers.LayerNormalization(name="readout_norm")
        self.logits = keras.layers.Dense(target_vocab_size, name="logits")
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, inputs, training=None):
        source, target_in = inputs
        memory, source_mask, initial_state = self._encode(source, training)
        target_mask = ops.not_equal(target_in, PAD_ID)
        embedded = self.dropout(self.target_embedding(target_in), training=training)
        states, contexts, _ = self.decoder(
            embedded, memory, initial_state, inputs_mask=target_mask, encoder_outputs_mask=source_mask
        )
        return self._output(states, contexts, embedded, training)

    def encode(self, source, max_output_length=None):
        memory, source_mask, initial_state = self._encode(source, training=False)
        keys = self.decoder.attention.project_keys(memory)  # once per sentence, not per step
        return {"state": initial_state}, {"memory": memory, "keys": keys, "mask": source_mask}

    def step(self, tokens, state, constants, index):
        embedded = self.target_embedding(tokens)
        new_state, context, weights = self.decoder.step(
            embedded, state["state"], constants["memory"], constants["mask"], constants["keys"]
        )
        return self._output(new_state, context, embedded, False), {"state": new_state}, {"attention": weights}

    def _encode(self, source, training):
        source_mask = ops.not_equal(source, PAD_ID)
        embedded = self.dropout(self.source_embedding(source), training=training)
        memory = self.encoder(embedded, mask=source_mask)
        return memory, source_mask, self.initial_state(_masked_mean(memory, source_mask))

    def _output(self, states, contexts, embedded, training):
        features = self.readout_norm(self.readout(ops.concatenate([states, contexts, embedded], axis=-1)))
        return self.logits(self.dropout(features, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "dropout": self.dropout_rate,
        }


@keras.saving.register_keras_serializable(package="seqmodels.translate")
class TransformerTranslator(keras.Model):
    """Transformer (Vaswani et al. 2017), small: shared recipe, our blocks, a key/value cache.

        x = E_src src * sqrt(D) + PE ;  x = EncoderBlock^N(x)
        y = E_tgt tgt * sqrt(D) + PE ;  y = DecoderBlock^N(y, x)   (causal self-attention)
        p(y_t) = softmax(W_o y_t),   W_o = E_tgt^T when the embeddings are tied

    Decoding runs one new token per step against cached keys/values (`step`), never the prefix.

    Args:
        source_vocab_size, target_vocab_size: int.
        width: int, D. num_layers: int, N (encoder and decoder each). num_heads: int.
        intermediate_dim: int, d_ff. dropout: float.
        tie_embeddings: bool, share the target embedding with the output projection (Press &
            Wolf 2017, as in the paper, section 3.4): V x D fewer weights. Defaults to False.
    """

    def __init__(
        self,
        source_vocab_size,
        target_vocab_size,
        width=256,
        num_layers=3,
        num_heads=4,
        intermediate_dim=1024,
        dropout=0.1,
        tie_embeddings=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_vocab_size, self.target_vocab_size = source_vocab_size, target_vocab_size
        self.width, self.num_layers, self.num_heads = width, num_layers, num_heads
        self.intermediate_dim, self.dropout_rate = intermediate_dim, dropout
        self.tie_embeddings = tie_embeddings
        self.source_embedding = keras.layers.Embedding(source_vocab_size, width, name="source_embedding")
        if tie_embeddings:  # the embedding doubles as the output projection (`reverse=True`)
            self.target_embedding = keras.layers.ReversibleEmbedding(
                target_vocab_size, width, name="target_embedding"
            )
        else:
            self.target_embedding = keras.layers.Embedding(target_vocab_size, width, name="target_embedding")
            self.logits = keras.layers.Dense(target_vocab_size, name="logits")
        self.positions = SinusoidalPositionEncoding(name="positions")
        self.encoder_blocks = [
            TransformerEncoderBlock(num_heads, intermediate_dim, dropout, name=f"encoder_{i}")
            for i in range(num_layers)
        ]
        self.decoder_blocks = [
            TransformerDecoderBlock(num_heads, intermediate_dim, dropout, name=f"decoder_{i}")
            for i in range(num_layers)
        ]
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, inputs, training=None):
        source, target_in = inputs
        memory, source_mask = self._encode(source, training)
        target_mask = ops.not_equal(target_in, PAD_ID)
        y = self._embed(self.target_embedding, target_in, 0, training)
        for block in self.decoder_blocks:
            y, _ = block(
                y,
                memory,
                decoder_sequence_mask=target_mask,
                encoder_sequence_mask=source_mask,
                training=training,
            )
        return self._logits(y)

    def encode(self, source, max_output_length):
        memory, source_mask = self._encode(source, training=False)
        batch_size = ops.shape(source)[0]
        state = {
            "self_attention": [
                block.empty_self_attention_cache(batch_size, max_output_length)
                for block in self.decoder_blocks
            ]
        }
        constants = {
            "cross_attention": [block.cross_attention_cache(memory) for block in self.decoder_blocks],
            "mask": source_mask,
        }
        return state, constants

    def step(self, tokens, state, constants, index):
        y = self._embed(self.target_embedding, tokens[:, None], index, False)  # (N, 1, D)
        caches = []
        for block, cache, cross in zip(
            self.decoder_blocks, state["self_attention"], constants["cross_attention"], strict=True
        ):
            y, weights, cache = block.call_with_cache(y, cache, index, cross, constants["mask"])
            caches.append(cache)
        attention = ops.mean(weights[:, :, 0, :], axis=1)  # last layer, averaged over heads: (N, S)
        return self._logits(y[:, 0]), {"self_attention": caches}, {"attention": attention}

    def attention_maps(self, source, target_in):
        """Every layer's and every head's attention in a teacher-forced pass: what `step` averages
        (the last layer's cross-attention, over heads) and what it leaves out. The explorer's page
        (`apps.explore`) draws them.

        Args:
            source: (B, S) int source ids.
            target_in: (B, T) int target ids, START then the translation.

        Returns:
            {"encoder": N self-attention weights (B, h, S, S), "cross": N (B, h, T, S)}, first layer first.
        """
        source_mask = ops.not_equal(source, PAD_ID)
        x = self._embed(self.source_embedding, source, 0, False)
        encoder, cross = [], []
        for block in self.encoder_blocks:
            x, weights = block(x, mask=source_mask, return_attention_scores=True)
            encoder.append(weights)
        y = self._embed(self.target_embedding, target_in, 0, False)
        for block in self.decoder_blocks:
            y, weights = block(y, x, decoder_sequence_mask=ops.not_equal(target_in, PAD_ID),
                               encoder_sequence_mask=source_mask)
            cross.append(weights)
        return {"encoder": encoder, "cross": cross}

    def _logits(self, y):
        if self.tie_embeddings:
            return self.target_embedding(y, reverse=True)
        return self.logits(y)

    def _encode(self, source, training):
        source_mask = ops.not_equal(source, PAD_ID)
        x = self._embed(self.source_embedding, source, 0, training)
        for block in self.encoder_blocks:
            x = block(x, mask=source_mask, training=training)
        return x, source_mask

    def _embed(self, embedding, ids, start_index, training):
        x = embedding(ids) * ops.cast(math.sqrt(self.width), "float32")
        return self.dropout(x + self.positions(x, start_index=start_index), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "width": self.width,
            "num_layers": self.num_layers,
            "num_heads": self.num_heads,
            "intermediate_dim": self.intermediate_dim,
            "dropout": self.dropout_rate,
            "tie_embeddings": self.tie_embeddings,
        }


@keras.saving.register_keras_serializable(package="seqmodels.translate")
class TutorialBaselineTranslator(keras.Model):
    """The TensorFlow `nmt_with_attention` tutorial's model, as a side-by-side baseline.

    Keras built-ins only, as the tutorial: bidirectional GRU encoder (directions summed), a GRU
    decoder that does not see the context, then single-head dot-product cross-attention
    (`MultiHeadAttention(num_heads=1)`) with a residual and LayerNorm, then the logits.
    """

    def __init__(self, source_vocab_size, target_vocab_size, units=256, **kwargs):
        super().__init__(**kwargs)
        self.source_vocab_size, self.target_vocab_size, self.units = (
            source_vocab_size,
            target_vocab_size,
            units,
        )
        self.source_embedding = keras.layers.Embedding(source_vocab_size, units, name="source_embedding")
        self.encoder = keras.layers.Bidirectional(
            keras.layers.GRU(units, return_sequences=True), merge_mode="sum", name="encoder"
        )
        self.target_embedding = keras.layers.Embedding(target_vocab_size, units, name="target_embedding")
        self.decoder_rnn = keras.layers.GRU(units, return_sequences=True, name="decoder_rnn")
        self.attention = keras.layers.MultiHeadAttention(num_heads=1, key_dim=units, name="cross_attention")
        self.norm = keras.layers.LayerNormalization(name="norm")
        self.logits = keras.layers.Dense(target_vocab_size, name="logits")

    def call(self, inputs, training=None):
        source, target_in = inputs
        memory, source_mask = self._encode(source)
        target_mask = ops.not_equal(target_in, PAD_ID)
        states = self.decoder_rnn(self.target_embedding(target_in), mask=target_mask)
        return self._attend_and_output(states, memory, source_mask)[0]

    def encode(self, source, max_output_length=None):
        memory, source_mask = self._encode(source)
        state = ops.zeros((ops.shape(source)[0], self.units))
        return {"state": state}, {"memory": memory, "mask": source_mask}

    def step(self, tokens, state, constants, index):
        new_state, _ = self.decoder_rnn.cell(self.target_embedding(tokens), [state["state"]])
        logits, weights = self._attend_and_output(new_state[:, None], constants["memory"], constants["mask"])
        return logits[:, 0], {"state": new_state}, {"attention": weights[:, 0, 0]}

    def _encode(self, source):
        source_mask = ops.not_equal(source, PAD_ID)
        return self.encoder(self.source_embedding(source), mask=source_mask), source_mask

    def _attend_and_output(self, states, memory, source_mask):
        context, weights = self.attention(
            states, memory, value_mask=source_mask, return_attention_scores=True
        )
        return self.logits(self.norm(states + context)), weights

    def get_config(self):
        return {
            **super().get_config(),
            "source_vocab_size": self.source_vocab_size,
            "target_vocab_size": self.target_vocab_size,
            "units": self.units,
        }


ARCHITECTURES = {
    "attention-gru": AttentionGRUTranslator,
    "transformer": TransformerTranslator,
    "tutorial-baseline": TutorialBaselineTranslator,
}

def default_label_smoothing(architecture, label_smoothing=None):
    """The Transformer recipe smooths targets by 0.1; the RNNs train as their papers did."""
    if label_smoothing is not None:
        return label_smoothing
    return 0.1 if architecture == "transformer" else 0.0


def compile_for_training(model, architecture, learning_rate=None, label_smoothing=None):
    """Adam, clipped, with the architecture's schedule; masked (smoothed) cross-entropy.

    The Transformer warms up linearly to a peak of 1e-3 over 1,000 steps, then decays as
    1/sqrt(step); the RNNs use a constant 1e-3. Shared by `train` and the JAX trainer, so a
    model trained on either backend follows one recipe.
    """
    if architecture == "transformer":
        schedule = training.WarmupInverseSqrt(learning_rate or 1e-3, warmup_steps=1000)
    else:
        schedule = learning_rate or 1e-3
    model.compile(
        optimizer=training.Adam(schedule, beta_2=0.98, clipnorm=1.0),  # clipped as on one device
        loss=training.smoothed_masked_loss(default_label_smoothing(architecture, label_smoothing)),
        metrics=[training.masked_accuracy],
    )

"""Show, Attend and Tell (Xu et al. 2015): an LSTM that attends over the CNN grid before each word.

Shapes: B batch, T caption tokens, L = gh * gw grid locations, C annotation size, E embedding,
H LSTM units, V vocabulary.

    a_1..a_L   = the CNN's grid (B, L, C)                            annotation vectors
    h_0, c_0   = tanh(W_h mean(a)), tanh(W_c mean(a))                 initial state (section 3.1.2);
                 or 0, 0 (`initial_state="zeros"`), so that the image reaches the decoder only
                 through the attention
    z_t, alpha_t = SoftVisualAttention(h_{t-1}, a)                    context beta_t sum_i alpha_ti a_i
    h_t, c_t   = LSTM([E y_{t-1}; z_t], h_{t-1}, c_{t-1})
    p(y_t)     = softmax(L_o tanh(E y_{t-1} + L_h h_t + L_z z_t))     deep output (see below)

With `attention_query="current"` the attention reads the state *after* the previous word, as in
Luong et al. 2015 (with their input feeding: the LSTM reads the previous context, z_0 = 0):

    h_t, c_t   = LSTM([E y_{t-1}; z_{t-1}], h_{t-1}, c_{t-1})
    z_t, alpha_t = SoftVisualAttention(h_t, a)
    p(y_t)     = as above

With `lstm_input="word"` the LSTM reads the words only (h_t = LSTM(E y_{t-1}, h_{t-1})): the image
reaches the output through z_t alone, so a word that names an object can only be predicted from
where its own step looks. `grid_coordinates=True` appends each location's (x, y) in [-1, 1] to its
annotation vector (C + 2), so that the attention can tell left from right.

Why: with the paper's decoder, the step *before* an object word (its article) already looks at the
object and feeds what it saw into the LSTM, so the object word's own step is free to look elsewhere
(on StampScenes, 73% of object words peaked inside their object's box, their articles 80%). The
current query alone did not change that (67%); reading the words only, with the coordinates, did
(85% on validation): the shipped model (`saved_models/caption/stamp-scenes`, its card) is
`attention_query="current", lstm_input="word", grid_coordinates=True`.

The deep output is the paper's equation 7, p(y_t | a, y_{t-1}) ∝ exp(L_o (E y_{t-1} + L_h h_t + L_z z_t)),
with a tanh before L_o: the paper has none, it comes from the authors' code (arctic-captions,
`capgen.py`, `logit = tanh(logit)` under its "[equation (7)]" comment), as does the dropout on it.

Training minimises, per caption, -log p(y | image) + lambda * sum_i (1 - sum_t alpha_ti)^2
(equation 14, the "doubly stochastic" attention: over a caption, every location should receive
about as much attention as any other). `doubly_stochastic_penalty` is that term; `call` adds it
through `add_loss`, normalised like the masked cross-entropy (per real target token), so the
total is the paper's objective over the batch divided by its number of tokens.

Interface shared with the other sequence models (`apps.common.decoding`):

    model([grid, tokens_in])              -> logits (B, T, V), teacher-forced
    model.encode(grid, max_output_length) -> (state, constants)
    model.step(tokens, state, constants, index) -> (logits (N, V), state, {"attention": (N, L)})

Token id 0 is padding.
"""

import keras
from keras import ops

from apps.caption.decoder_options import ATTENTION_QUERIES, INITIAL_STATES, LSTM_INPUTS
from apps.caption.encoder import build_top, cached_grid_shape, check_encoder
from layers import LSTMCell, SoftVisualAttention

PAD_ID = 0


def doubly_stochastic_penalty(attention, mask=None):
    """sum_i (1 - sum_t alpha_ti)^2 for each caption (Xu et al. 2015, equation 14).

    Args:
        attention: (B, T, L) attention weights, each row summing to 1 over L.
        mask: optional (B, T) bool, False at padded steps (they do not count).

    Returns:
        (B,) the penalty of each caption.

    Example:
        >>> float(doubly_stochastic_penalty(np.full((1, 2, 4), 0.25))[0])  # each location gets 0.5
        1.0
    """
    if mask is not None:
        attention = attention * ops.cast(mask, attention.dtype)[:, :, None]
    received = ops.sum(attention, axis=1)  # (B, L): what each location got over the caption
    return ops.sum(ops.square(1.0 - received), axis=-1)


@keras.saving.register_keras_serializable(package="seqmodels.caption")
class ShowAttendTell(keras.Model):
    """The caption decoder of Xu et al. 2015 over a frozen (or partly fine-tuned) CNN's grid.

    Args:
        vocab_size: int, V.
        encoder: str, the image encoder whose grid the model reads (`apps.caption.encoder.ENCODERS`).
        fine_tune_blocks: int K in 0..3; with K > 0 the model holds MobileNetV2's K top blocks
            (trainable) and reads the grid below them. Defaults to 0 (a frozen CNN).
        embedding_dim: int, E. Defaults to 256.
        units: int, H. Defaults to 512.
        attention_units: int, the size of the attention MLP. Defaults to 256.
        dropout: float, on the embeddings and the deep output. Defaults to 0.3.
        initial_state: "mean" (h_0, c_0 from the mean annotation vector, the paper) or "zeros".
        attention_query: "previous" (attend with h_{t-1}, the paper) or "current" (attend with h_t,
            after reading y_{t-1}; see the module docstring).
        lstm_input: "word_and_context" (the paper) or "word" (the context reaches the output only).
        grid_coordinates: bool, append each location's (x, y) to its annotation vector.

    Call arguments:
        inputs: [grid (B, gh, gw, C_in) the cached encoder output, tokens (B, T) int, the caption
            shifted right ([start] first), 0-padded].
        training: bool.

    Returns:
        logits (B, T, V). While `attention_penalty` > 0 (set by `compile`), the doubly stochastic
        term is added to the model's losses.

    Example:
        >>> model = ShowAttendTell(12, encoder="tiny", embedding_dim=8, units=8, attention_units=8)
        >>> model([np.zeros((2, 4, 4, 16)), np.array([[2, 5, 6], [2, 7, 0]])]).shape
        TensorShape([2, 3, 12])
    """

    def __init__(self, vocab_size, encoder="mobilenet_v2", fine_tune_blocks=0, embedding_dim=256, units=512,
                 attention_units=256, dropout=0.3, initial_state="mean",
                 attention_query="previous", lstm_input="word_and_context", grid_coordinates=False, **kwargs):
        super().__init__(**kwargs)
        check_encoder(encoder, fine_tune_blocks)
        for name, value in (("vocab_size", vocab_size), ("embedding_dim", embedding_dim), ("units", units),
                            ("attention_units", attention_units)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}")
        if initial_state not in INITIAL_STATES:
            raise ValueError(f"`initial_state` must be one of {INITIAL_STATES}, got {initial_state!r}")
        self.initial_state = initial_state
        if attention_query not in ATTENTION_QUERIES:
            raise ValueError(f"`attention_query` must be one of {ATTENTION_QUERIES}, got {attention_query!r}")
        self.attention_query = attention_query
        if lstm_input not in LSTM_INPUTS:
            raise ValueError(f"`lstm_input` must be one of {LSTM_INPUTS}, got {lstm_input!r}")
        self.lstm_input, self.grid_coordinates = lstm_input, bool(grid_coordinates)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1), got {dropout!r}")
        self.vocab_size, self.encoder, self.fine_tune_blocks = vocab_size, encoder, fine_tune_blocks
        self.embedding_dim, self.units, self.attention_units, self.dropout_rate = (
            embedding_dim, units, attention_units, dropout)
        self.grid_shape = cached_grid_shape(encoder, fine_tune_blocks)  # (gh, gw, C_in) of the input
        self.annotation_dim = cached_grid_shape(encoder, 0)[-1] + (2 if self.grid_coordinates else 0)  # C
        self.attention_penalty = 0.0  # lambda; `compile` sets it

    def build(self, input_shape):
        E, H, C = self.embedding_dim, self.units, self.annotation_dim
        if self.fine_tune_blocks:
            self.top = build_top(self.fine_tune_blocks)
        self.embedding = keras.layers.Embedding(self.vocab_size, E, name="embedding")
        self.embedding.build((None, None))
        if self.initial_state == "mean":
            self.init_h = keras.layers.Dense(H, activation="tanh", name="init_h")
            self.init_c = keras.layers.Dense(H, activation="tanh", name="init_c")
        self.attention = SoftVisualAttention(self.attention_units, name="attention")
        self.lstm = LSTMCell(H, name="lstm")
        self.readout_h = keras.layers.Dense(E, name="readout_h")  # L_h
        self.readout_z = keras.layers.Dense(E, use_bias=False, name="readout_z")  # L_z
        self.logits = keras.layers.Dense(self.vocab_size, name="logits")  # L_o
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        # Built here, not on first use: `call` runs them inside a scan, where no variable may be made.
        initial = (self.init_h, self.init_c) if self.initial_state == "mean" else ()
        for layer in (*initial, self.readout_z):
            layer.build((None, C))
        self.attention.build((None, H), (None, None, C))
        self.lstm.build((None, E + C if self.lstm_input == "word_and_context" else E))
        self.readout_h.build((None, H))
        self.logits.build((None, E))

    def call(self, inputs, training=None):
        grid, tokens = inputs
        logits, alphas = self._teacher_forced(grid, tokens, training)
        if self.attention_penalty:
            mask = ops.not_equal(tokens, PAD_ID)  # (B, T)
            tokens_in_batch = ops.maximum(ops.sum(ops.cast(mask, "float32")), 1.0)
            penalty = ops.sum(ops.cast(doubly_stochastic_penalty(alphas, mask), "float32"))
            self.add_loss(self.attention_penalty * penalty / tokens_in_batch)
        return logits

    def compile(self, *args, attention_penalty=1.0, **kwargs):
        """`keras.Model.compile`, plus lambda, the weight of the doubly stochastic term (0 turns it off)."""
        if attention_penalty < 0:
            raise ValueError(f"attention_penalty must be >= 0, got {attention_penalty}")
        self.attention_penalty = float(attention_penalty)
        super().compile(*args, **kwargs)

    def encode(self, grid, max_output_length=None):
        """The decoding state and constants of a batch of grids (B, gh, gw, C_in)."""
        return self._start(self._annotations(grid))

    def step(self, tokens, state, constants, index):
        """One word: (N,) previous tokens -> logits (N, V), the new state, {"attention": (N, L)}."""
        embedded = self.embedding(tokens)  # (N, E)
        h, c, context, alpha = self._attend_and_update(embedded, state["h"], state["c"], state.get("context"),
                                                        constants)
        new_state = {"h": h, "c": c, **({"context": context} if self.attention_query == "current" else {})}
        return self._readout(embedded, h, context, False), new_state, {"attention": alpha}

    def attention_weights(self, grid, tokens):
        """Teacher-forced attention (B, T, L) of captions `tokens` (B, T), for tests and analysis.

        The attention `call` computes (and penalises): after a padded step the state carries over.
        """
        return self._teacher_forced(grid, tokens, training=False)[1]

    def _teacher_forced(self, grid, tokens, training=None):
        """The teacher-forced pass: grid (B, gh, gw, C_in), tokens (B, T) -> logits (B, T, V), alphas (B, T, L)."""
        annotations = self._annotations(grid)  # (B, L, C)
        mask = ops.not_equal(tokens, PAD_ID)  # (B, T)
        embedded = self.dropout(self.embedding(tokens), training=training)  # (B, T, E)
        state, constants = self._start(annotations)
        dtype = self.compute_dtype

        def one_step(carry, step_inputs):
            h, c, previous_context = carry[0], carry[1], carry[2]
            y_prev, keep = step_inputs[:, :-1], step_inputs[:, -1:] > 0.5
            new_h, new_c, context, alpha = self._attend_and_update(y_prev, h, c, previous_context, constants)
            new_h, new_c = ops.where(keep, new_h, h), ops.where(keep, new_c, c)  # padded step: carry over
            if self.attention_query == "current":  # z_t is part of the state
                context = ops.where(keep, context, previous_context)
            # Keras' TensorFlow `scan` requires the per-step outputs to mirror the carry.
            new_carry = (new_h, new_c, context, alpha)
            return new_carry, new_carry

        batch_size, locations = ops.shape(annotations)[0], ops.shape(annotations)[1]
        initial = (state["h"], state["c"], ops.zeros((batch_size, self.annotation_dim), dtype),
                   ops.zeros((batch_size, locations), dtype))
        # One scanned tensor, the mask riding along as a last feature (as in AttentionGRUDecoder).
        scanned = ops.concatenate([embedded, ops.cast(mask, dtype)[:, :, None]], axis=-1)
        _, (hs, _, contexts, alphas) = ops.scan(one_step, initial, ops.transpose(scanned, (1, 0, 2)))
        batch_major = lambda x: ops.transpose(x, (1, 0, 2))  # (T, B, .) -> (B, T, .)
        hs, contexts, alphas = batch_major(hs), batch_major(contexts), batch_major(alphas)
        return self._readout(embedded, hs, contexts, training), alphas

    def _annotations(self, grid):
        """The cached grid (B, gh, gw, C_in) -> annotation vectors (B, L, C), through the top blocks if any."""
        grid = ops.cast(grid, self.compute_dtype)  # the cache keeps float16
        if self.fine_tune_blocks:
            grid = self.top(grid)  # (B, 7, 7, 1280); frozen batch normalisations
        shape = ops.shape(grid)
        annotations = ops.reshape(grid, (shape[0], shape[1] * shape[2], shape[3]))
        if not self.grid_coordinates:
            return annotations
        rows, columns = grid.shape[1], grid.shape[2]  # static: the cached grid's (after any top blocks)
        y, x = ops.meshgrid(ops.linspace(-1.0, 1.0, rows), ops.linspace(-1.0, 1.0, columns), indexing="ij")
        where = ops.cast(ops.reshape(ops.stack([x, y], axis=-1), (1, rows * columns, 2)), annotations.dtype)
        return ops.concatenate([annotations, ops.tile(where, (shape[0], 1, 1))], axis=-1)

    def _start(self, annotations):
        """Initial state (from the mean annotation, or zeros), and the constants every step reads."""
        if self.initial_state == "mean":
            mean = ops.mean(annotations, axis=1)  # (B, C)
            state = {"h": self.init_h(mean), "c": self.init_c(mean)}
        else:
            zeros = ops.zeros((ops.shape(annotations)[0], self.units), annotations.dtype)
            state = {"h": zeros, "c": zeros}
        if self.attention_query == "current":
            state["context"] = ops.zeros((ops.shape(annotations)[0], self.annotation_dim), annotations.dtype)
        # W_a a_i + b does not depend on the step: once per image.
        constants = {"annotations": annotations, "projected": self.attention.project_features(annotations)}
        return state, constants

    def _attend_and_update(self, embedded, h, c, previous_context, constants):
        """One step: (B, E), (B, H), (B, H), z_{t-1} (B, C) or None -> h_t, c_t, z_t (B, C), alpha_t (B, L).

        Attends with h_{t-1} then updates the LSTM (the paper), or updates the LSTM on z_{t-1} then attends
        with h_t (`attention_query="current"`).
        """
        attend = lambda query: self.attention(query, constants["annotations"],
                                              projected_features=constants["projected"])
        with_context = lambda context: (ops.concatenate([embedded, context], axis=-1)
                                        if self.lstm_input == "word_and_context" else embedded)
        if self.attention_query == "current":
            new_h, (_, new_c) = self.lstm(with_context(previous_context), [h, c])
            context, alpha = attend(new_h)
            return new_h, new_c, context, alpha
        context, alpha = attend(h)
        new_h, (_, new_c) = self.lstm(with_context(context), [h, c])
        return new_h, new_c, context, alpha

    def _readout(self, embedded, h, context, training):
        """The deep output: logits of y_t from E y_{t-1}, h_t and z_t (any leading shape)."""
        features = ops.tanh(embedded + self.readout_h(h) + self.readout_z(context))
        return self.logits(self.dropout(features, training=training))

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "encoder": self.encoder,
            "fine_tune_blocks": self.fine_tune_blocks,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "attention_units": self.attention_units,
            "dropout": self.dropout_rate,
            "initial_state": self.initial_state,
            "attention_query": self.attention_query,
            "lstm_input": self.lstm_input,
            "grid_coordinates": self.grid_coordinates,
        }

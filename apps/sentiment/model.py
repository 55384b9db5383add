"""A many-to-one sentiment classifier: embedding, bidirectional GRU or LSTM, a pooled reading, a head.

    x_t   = E w_t                                    (B, T, E), padding masked
    h_t   = [GRU_fwd(x_1..x_t) ; GRU_bwd(x_t..x_T)]  (B, T, 2H), our cells (`layers/`)
    c     = sum_t alpha_t h_t                         pooling="attention": AttentionPooling, (B, 2H)
          = [h_fwd at the last word ; h_bwd at the first]   pooling="last": the plain many-to-one reading
    p(y)  = softmax(W dropout(c) + b)                 (B, C)

Shapes: B batch, T words, E embedding, H units per direction, C classes.
"""

import keras
from keras import ops

from layers import AttentionPooling, GRUCell, LSTMCell

CELLS = {"gru": GRUCell, "lstm": LSTMCell}
POOLINGS = ("attention", "last")


@keras.saving.register_keras_serializable(package="seqmodels.sentiment")
class SentimentClassifier(keras.Model):
    """p(class | text) from word ids; `explain` also returns the attention over the words.

    Args:
        vocabulary_size: int, V (id 0 = padding, 1 = unknown word).
        num_classes: int, C. Defaults to 2.
        embedding_dim: int, E. Defaults to 128.
        units: int, H per direction. Defaults to 64.
        cell: "gru" or "lstm". Defaults to "gru".
        pooling: "attention" or "last". Defaults to "attention".
        dropout: float, on the embeddings and before the head. Defaults to 0.3.
        train_embeddings: bool, whether training updates the embedding table (False keeps
            pretrained vectors, so words never seen in training stay where pretraining put them).
            Defaults to True.

    Call arguments:
        ids: (B, T) int word ids, 0 = padding.

    Returns:
        logits (B, C).
    """

    def __init__(self, vocabulary_size, num_classes=2, embedding_dim=128, units=64, cell="gru",
                 pooling="attention", dropout=0.3, train_embeddings=True, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.vocabulary_size, self.num_classes, self.embedding_dim = vocabulary_size, num_classes, embedding_dim
        self.units, self.cell_name, self.pooling = units, cell, pooling
        self.dropout_rate, self.train_embeddings = dropout, train_embeddings
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True,
                                                trainable=train_embeddings, name="embedding")
        self.encoder = keras.layers.Bidirectional(
            keras.layers.RNN(CELLS[cell](units), return_sequences=pooling == "attention"), name=f"bi{cell}")
        self.attention = AttentionPooling(2 * units, name="attention") if pooling == "attention" else None
        self.dropout = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(num_classes, name="logits")

    def call(self, ids, training=None):
        return self.explain(ids, training=training)["logits"]

    def explain(self, ids, training=None):
        """{"logits": (B, C), "attention": (B, T)}: which words the pooled reading drew on.

        With pooling="last" the reading has no weights over words; "attention" is then 1 on the
        last word (where the forward state is read) to keep one output signature.
        """
        mask = ops.not_equal(ids, 0)  # (B, T)
        x = self.dropout(self.embedding(ids), training=training)  # (B, T, E)
        states = self.encoder(x, mask=mask, training=training)
        if self.attention is not None:
            pooled, weights = self.attention(states, mask=mask)  # (B, 2H), (B, T)
        else:
            pooled = states  # (B, 2H)
            lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
            weights = ops.cast(ops.one_hot(lengths - 1, ops.shape(ids)[1]), pooled.dtype)
        return {"logits": self.head(self.dropout(pooled, training=training)), "attention": weights}

    def get_config(self):
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "num_classes": self.num_classes,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "cell": self.cell_name,
            "pooling": self.pooling,
            "dropout": self.dropout_rate,
            "train_embeddings": self.train_embeddings,
        }

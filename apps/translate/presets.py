"""Model sizes of the translation architectures: pure data, read by the command line without Keras."""

# Model sizes: "tiny" for tests and smoke runs, "small" for the shipped models (CPU-trainable).
PRESETS = {
    "attention-gru": {
        "tiny": {"embedding_dim": 16, "units": 32},
        "small": {"embedding_dim": 128, "units": 256},
    },
    "transformer": {
        "tiny": {"width": 32, "num_layers": 1, "num_heads": 2, "intermediate_dim": 64, "tie_embeddings": True},
        "small": {"width": 256, "num_layers": 2, "num_heads": 4, "intermediate_dim": 512, "tie_embeddings": True},
    },
    "tutorial-baseline": {"tiny": {"units": 32}, "small": {"units": 256}},
}

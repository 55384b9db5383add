"""The beam search's defaults, shared by the command line and the servers without importing TensorFlow.

`apps.common.task` (the command line's --beam, the config a model directory records) and
`apps.common.serving` (a `SequenceServer`'s defaults) both read them here, so neither imports
the other. Apps read them through `apps.common.task`.
"""

DEFAULT_BEAM_SIZE = 4
DEFAULT_LENGTH_PENALTY = 0.6  # GNMT's alpha

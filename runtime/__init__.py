"""Process-wide start-up for the command-line tools: TensorFlow without its start-up noise.

TensorFlow 2.21 prints C++ lines at import and device discovery (the absl
pre-init warning, the oneDNN banner, CUDA probing, the CPU feature guard).
They go through absl before its logging is configured, so
`TF_CPP_MIN_LOG_LEVEL` does not hide them. Command-line users asked for a
translation, not for those, so every entry point calls `quiet_tensorflow()`
first: it imports TensorFlow with file descriptor 2 captured and then replays
every captured line that is not known start-up noise, so real errors still
show. Library users who import our layers directly are not affected.
"""

import os
import re
import sys
import tempfile

_STARTUP_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog"
    r"|[IWE]\d{4} [\d:. ]+\d+ "
    r"(port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor|cuda_diagnostics)\.cc"
    r"|To enable the following instructions:"
    r"|\s*$)"
)


def quiet_tensorflow():
    """Imports TensorFlow and Keras, hiding TensorFlow's C++ start-up banner. Idempotent."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ INFO/WARNING lines
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # device discovery prints too: do it now
            import keras  # noqa: F401
        finally:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        captured.seek(0)
        for line in captured.read().decode("utf-8", "replace").splitlines():
            if not _STARTUP_NOISE.match(line):
                print(line, file=sys.stderr)

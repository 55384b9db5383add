"""Process-wide start-up for the command-line tools: TensorFlow without its log noise.

TensorFlow 2.21 writes C++ log lines to stderr through absl before absl's logging is set up:
at import (the absl pre-init warning, the oneDNN banner, CUDA probing, the CPU feature guard)
and later (oneDNN fallbacks). `TF_CPP_MIN_LOG_LEVEL` does not hide them. Command-line users
asked for a translation, not for those, so every entry point calls `quiet_tensorflow()` first.
It routes file descriptor 2 through a pipe whose reader drops C++ INFO/WARNING lines and the
known harmless errors, and passes everything else (Python tracebacks, real errors) on
unchanged. Library users who import our layers directly are not affected.
"""

import atexit
import os
import re
import sys
import threading

_NOISE = re.compile(
    rb"(WARNING: All log messages before absl::InitializeLog"
    rb"|[IW]\d{4} [\d:.]+\s+\d+ \S+\.cc:\d+\]"  # C++ INFO and WARNING
    rb"|E\d{4} [\d:.]+\s+\d+ (cuda_platform|cuda_executor|cuda_diagnostics|util)\.cc:\d+\]"
    rb"|To enable the following instructions:)"
)
_installed = False


def quiet_tensorflow(import_now=True):
    """Filters TensorFlow's C++ log lines out of stderr, then imports TensorFlow (unless not
    `import_now`: `--help` needs no TensorFlow, and a later import is filtered all the same).
    Idempotent."""
    global _installed
    backend = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not _installed:
        _installed = True
        _filter_stderr()
    if backend != "tensorflow" or not import_now:
        return  # e.g. JAX on an accelerator machine, which may have no TensorFlow at all
    tensorflow = _import_tensorflow_without_keras()
    tensorflow.config.list_physical_devices()  # device discovery logs too: do it now


def _import_tensorflow_without_keras():
    """`import tensorflow`, without the Keras import that TensorFlow does on its own.

    TensorFlow 2.21 imports Keras' optimizers at import time (for Keras' SavedModel registry),
    which loads all of Keras and matplotlib: about a second and a half on this machine, of a
    command that only runs an exported SavedModel in 5-10 s. With `keras` hidden, TensorFlow skips
    it (it catches the ImportError); a module that needs Keras imports it later as usual.
    """
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        import tensorflow

        return tensorflow
    sys.modules["keras"] = None  # makes `import keras...` raise ImportError
    try:
        import tensorflow
    finally:
        del sys.modules["keras"]
    return tensorflow


def _filter_stderr():
    read_end, write_end = os.pipe()
    real_stderr = os.dup(2)
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward():
        # Pieces end at "\n" or "\r", so progress bars (which redraw with "\r") stay live.
        pending = b""
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                pieces = re.split(rb"(?<=[\r\n])", pending + chunk)
                pending = pieces.pop()  # an unfinished piece waits for its end
                for piece in pieces:
                    _write_without_noise(real_stderr, piece)
        _write_without_noise(real_stderr, pending)

    def _write_without_noise(fd, piece):
        # A log line can follow a progress bar's text on the same line (tqdm ends lines with
        # no newline), so noise is cut wherever it starts.
        noise = _NOISE.search(piece)
        if noise:
            piece = piece[: noise.start()]
        if piece:
            os.write(fd, piece)

    reader = threading.Thread(target=forward, name="stderr-filter", daemon=True)
    reader.start()

    def drain():
        # Close our end of the pipe so the reader sees EOF and forwards the last lines.
        sys.stderr.flush()
        os.dup2(real_stderr, 2)
        reader.join(timeout=2)

    atexit.register(drain)

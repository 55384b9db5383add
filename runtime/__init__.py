"""Process-wide settings for the command-line tools, applied before TensorFlow loads.

TensorFlow prints C++ INFO/WARNING lines (oneDNN banner, CUDA probing, CPU
feature guard) at import time. Command-line users asked for a translation, not
for those, so every entry point imports this module first. A user who sets
these variables keeps their own values.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide C++ INFO and WARNING
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")

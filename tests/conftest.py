import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Corpora no package carries are read from $SEQMODELS_DOWNLOADS; developers and CI have a copy
# in ../shared/data (the Makefile sets the same), so a bare `pytest` finds them too.
_SHARED_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data")
if os.path.isdir(_SHARED_DATA):
    os.environ.setdefault("SEQMODELS_DOWNLOADS", os.path.abspath(_SHARED_DATA))

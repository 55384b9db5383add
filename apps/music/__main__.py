"""`python -m apps.music`: the shared runner over the music task (see apps/music/__init__.py)."""

import sys

from apps.common.runner import Runner
from apps.music.task import MusicTask

if __name__ == "__main__":
    sys.exit(Runner(MusicTask()).run())

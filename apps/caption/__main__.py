"""`python -m apps.caption`: the shared runner over the caption task (see apps/caption/__init__.py)."""

import sys

from apps.caption.task import CaptionTask
from apps.common.runner import Runner


def main(argv):
    return Runner(CaptionTask()).main(argv)


if __name__ == "__main__":
    sys.exit(Runner(CaptionTask()).run())

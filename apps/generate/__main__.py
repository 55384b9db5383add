"""`python -m apps.generate`: the shared runner over the text-generation task (see apps/generate/__init__.py)."""

import sys

from apps.common.runner import Runner
from apps.generate.task import GenerationTask


def main(argv):
    return Runner(GenerationTask()).main(argv)


if __name__ == "__main__":
    sys.exit(Runner(GenerationTask()).run())

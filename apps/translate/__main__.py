"""`python -m apps.translate`: the shared runner over the translation task (see apps/translate/__init__.py)."""

import sys

from apps.common.runner import Runner
from apps.translate.task import TranslationTask


def main(argv):
    return Runner(TranslationTask()).main(argv)


if __name__ == "__main__":
    sys.exit(Runner(TranslationTask()).run())

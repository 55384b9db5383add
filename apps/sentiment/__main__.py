"""`python -m apps.sentiment`: the shared runner over the sentiment task (see apps/sentiment/__init__.py)."""

import sys

from apps.common.runner import Runner
from apps.sentiment.task import SentimentTask


def main(argv):
    return Runner(SentimentTask()).main(argv)


if __name__ == "__main__":
    sys.exit(Runner(SentimentTask()).run())

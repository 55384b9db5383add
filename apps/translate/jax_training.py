"""The portable trainer's old entry point: `python -m apps.translate.jax_training pack|fit|adopt`.

Kept so that existing scripts work; the commands are now `python -m apps.translate pack|fit|adopt`
(`apps.common.portable_training`).
"""

import sys

from apps.common.cli import UserError, run
from apps.common.runner import PORTABLE_COMMANDS, Runner
from apps.translate.task import TranslationTask


def main(argv):
    if not argv or argv[0] not in (*PORTABLE_COMMANDS, "-h", "--help"):
        raise UserError(f"expected a command, one of {', '.join(PORTABLE_COMMANDS)}")
    return Runner(TranslationTask()).main(argv)


if __name__ == "__main__":
    sys.exit(run(main))

"""`python -m apps.dynamics`: the shared runner over the forecasting task (see apps/dynamics/__init__.py)."""

import sys

from apps.common.runner import Runner
from apps.dynamics.task import DynamicsTask

if __name__ == "__main__":
    sys.exit(Runner(DynamicsTask()).run())

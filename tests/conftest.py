"""Test configuration: a Hypothesis profile for CI (derandomized, no deadline), and the
shared test oracles (`tests/oracles.py`) importable from every folder of the tree."""

import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

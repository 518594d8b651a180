"""Test-wide settings: property tests explore freely on a developer's machine and
replay a fixed set of examples in CI, so a landing never hangs on a lucky draw
(anything found locally becomes a pinned regression test)."""

from __future__ import annotations

import os

from dask_cluster import dask_scheduler as dask_scheduler  # the real cluster, for tests/engine
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

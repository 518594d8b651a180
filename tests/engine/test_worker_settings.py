"""The Dask worker settings README recommends are settings Dask reads, with the values meant."""

from __future__ import annotations

import dask
import pytest

from planner.engine.cluster import RECOMMENDED_WORKER_ENV


def test_the_recommended_worker_environment_sets_the_three_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in RECOMMENDED_WORKER_ENV.items():
        monkeypatch.setenv(name, value)
    config = dask.config.collect(paths=[])  # what a worker started with them reads
    with dask.config.set(config, clear=True):
        assert dask.config.get("distributed.worker.profile.enabled") is False
        assert dask.config.get("distributed.admin.tick.interval") == "1s"
        assert dask.config.get("distributed.admin.system-monitor.interval") == "2s"

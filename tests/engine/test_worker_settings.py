"""The Dask worker settings README recommends are settings Dask reads, with the values meant."""

from __future__ import annotations

import dask
import pytest
from distributed.nanny import _get_env_variables  # also adds Dask's distributed defaults

from planner.engine.cluster import RECOMMENDED_WORKER_ENV


@pytest.fixture
def worker_config(monkeypatch: pytest.MonkeyPatch) -> dict:
    """The configuration a worker (and its nanny) started with the settings reads: Dask's
    defaults, then the environment (no configuration files)."""
    for name, value in RECOMMENDED_WORKER_ENV.items():
        monkeypatch.setenv(name, value)
    return dask.config.merge(*dask.config.defaults, dask.config.collect(paths=[]))


def test_the_recommended_worker_environment_slows_the_workers_periodic_work(
    worker_config: dict,
) -> None:
    with dask.config.set(worker_config, clear=True):
        assert dask.config.get("distributed.worker.profile.enabled") is False
        assert dask.config.get("distributed.admin.tick.interval") == "1s"
        assert dask.config.get("distributed.admin.system-monitor.interval") == "2s"


def test_the_nanny_no_longer_sets_the_trim_threshold_but_keeps_its_other_variables(
    worker_config: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    key = "distributed.nanny.pre-spawn-environ"
    with dask.config.set(dask.config.merge(*dask.config.defaults), clear=True):  # without them
        assert "MALLOC_TRIM_THRESHOLD_" in _get_env_variables(key)
    with dask.config.set(worker_config, clear=True):
        spawned = _get_env_variables(key)
    assert "MALLOC_TRIM_THRESHOLD_" not in spawned
    assert spawned["OMP_NUM_THREADS"] == "1"

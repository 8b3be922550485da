"""SIGKILL a real Ray-executor study (driver and Ray workers) at seeded moments; rerun; check.

The study starts its own local Ray cluster (``executor.address: local``) in the driver process,
so a killed driver takes its cluster down with it and the rerun starts a fresh one.
"""

from __future__ import annotations

import logging

import pytest

from .harness import chaos, check_study, ray_workers, summary, tiny_spec, write_spec

pytest.importorskip("ray", reason="ray is not installed (pip install 'distillscale[ray]')")

log = logging.getLogger(__name__)


@pytest.mark.slow
@pytest.mark.ray
def test_killed_ray_study_resumes_to_the_reference(tmp_path, corpus, reference):
    doc = tiny_spec(corpus, executor="ray")
    doc["executor"].update(address="local", cpus_per_run=1)
    spec = write_spec(tmp_path / "chaos.yaml", doc)
    record = chaos(
        spec,
        tmp_path / "study",
        seed=21,
        max_kills=3,
        find_workers=ray_workers,
        budget_seconds=240,
        arm_nodes=1,  # kill early in each round: after at most one more node finished
        max_delay=1.5,
    )
    checked = check_study(tmp_path / "study", reference, record)
    log.warning("ray, seed 21: %s", summary(record, checked))
    # The number of kills that land before the study finishes depends on machine speed.
    assert record.count("driver") >= 1, record.kills
    assert not record.unexpected_exits, record.unexpected_exits

"""Resource constraints against the workers, and the shared-storage refusal (no cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cirrostratus.executors.dask_resources import batch_needs, placement
from cirrostratus.executors.dask_storage import (
    SharedStorageError,
    check_shared_storage,
    is_this_machine,
    scheduler_host,
)
from cirrostratus.runtime.jobs import JobSpec
from cirrostratus.storage.locations import Locations

WORKERS = [{"VCPU": 4.0, "MEMORY": 8000.0}, {"VCPU": 16.0, "MEMORY": 64000.0, "GPU": 1.0}]


def test_a_gpu_job_goes_only_where_a_gpu_is() -> None:
    constraints, missing = placement({"VCPU": 2, "MEMORY": 4000, "GPU": 1}, WORKERS)
    assert missing is None
    assert constraints == {"VCPU": 2, "MEMORY": 4000, "GPU": 1}


def test_what_no_worker_holds_is_named() -> None:
    _, missing = placement({"MEMORY": 128000, "GPU": 2}, WORKERS)
    assert missing is not None
    assert missing == (
        "needs MEMORY=128000 MiB (the largest worker has MEMORY=64000 MiB), "
        "GPU=2 (the largest worker has GPU=1)"
    )


def test_a_gpu_on_a_cluster_that_declares_none_is_refused() -> None:
    _, missing = placement({"GPU": 1}, [{"VCPU": 4.0}])
    assert missing == "needs GPU=1 (no worker declares a GPU resource)"


def test_undeclared_cpu_and_memory_are_not_constraints() -> None:
    constraints, missing = placement({"VCPU": 64, "MEMORY": 1e6}, [{}, {}])
    assert (constraints, missing) == ({}, None)


def test_needs_that_no_single_worker_has_together() -> None:
    _, missing = placement({"VCPU": 8, "GPU": 1}, [{"VCPU": 16.0}, {"VCPU": 4.0, "GPU": 1.0}])
    assert missing is not None and "no single worker has all of it" in missing


def test_no_worker_yet_refuses_nothing() -> None:
    assert placement({"GPU": 1}, [])[1] is None


def test_batch_needs_apply_overrides() -> None:
    job = JobSpec("J", "j", vcpus=1, memory_mb=256, gpus=0)
    overrides = {
        "ResourceRequirements": [
            {"Type": "GPU", "Value": "1"},
            {"Type": "MEMORY", "Value": "16384"},
        ]
    }
    assert batch_needs(job, overrides) == {"VCPU": 1.0, "MEMORY": 16384.0, "GPU": 1.0}


def test_scheduler_addresses() -> None:
    assert scheduler_host("tcp://10.0.0.5:8786") == "10.0.0.5"
    assert scheduler_host("head.cluster:8786") == "head.cluster"
    assert is_this_machine("127.0.0.1") and is_this_machine("localhost")
    assert not is_this_machine("10.255.0.1")


def test_local_folders_with_a_remote_cluster_are_refused(tmp_path: Path) -> None:
    locations = Locations.for_project(tmp_path, env={})
    with pytest.raises(SharedStorageError) as caught:
        check_shared_storage(locations, ["10.255.0.1"], env={})
    message = str(caught.value)
    assert "CIRRUS_PAYLOAD_BUCKET" in message and "CIRRUS_DATA_BUCKET" in message
    assert "s3://" in message and "/shared/" in message
    # a cluster on this machine, or stores that every worker reaches, are fine
    check_shared_storage(locations, ["127.0.0.1", "localhost"], env={})
    shared = {"CIRRUS_PAYLOAD_BUCKET": "s3://b/payloads", "CIRRUS_DATA_BUCKET": "/shared/data"}
    check_shared_storage(Locations.for_project(tmp_path, env=shared), ["10.255.0.1"], env=shared)

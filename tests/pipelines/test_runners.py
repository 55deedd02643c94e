"""The same build on every runner gives the same bytes: PortableRunner (embedded job server + external
worker pool, the Fn API protocol of Flink/Spark/Dataflow) and Beam's DaskRunner on a dask.distributed
LocalCluster. Slow: each starts real worker processes. (In-process vs multi_processing DirectRunner is
in the fast suite, test_build_corpus.py.) Run with ``pytest -m slow tests/pipelines``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgtext.corpus.reader import CorpusReader
from tests.pipelines.conftest import REDOCRED, build, corpus_digests

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("localhost", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"worker pool did not listen on port {port} within {timeout_s} s")


@pytest.fixture
def worker_pool() -> Iterator[int]:
    """A Beam worker pool on a free port; its workers run the ``python`` first on PATH (this venv's)."""
    port = _free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [sys.executable, "-m", "apache_beam.runners.worker.worker_pool_main", f"--service_port={port}"]
    pool = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, 60)
        yield port
    finally:
        pool.terminate()
        pool.wait(timeout=30)


def test_portable_runner_with_external_worker_pool_gives_the_same_bytes(
    redocred_corpus: Path, tmp_path: Path, worker_pool: int
) -> None:
    beam = [
        "--runner=PortableRunner",
        "--job_endpoint=embed",
        "--environment_type=EXTERNAL",
        f"--environment_config=localhost:{worker_pool}",
    ]
    manifest = build(tmp_path / "portable", [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"], *beam)
    assert manifest.build_config["runner"] == "PortableRunner"
    assert CorpusReader(tmp_path / "portable").verify() == []
    assert corpus_digests(tmp_path / "portable") == corpus_digests(redocred_corpus)
    assert manifest.statistics == CorpusReader(redocred_corpus).manifest.statistics


def test_dask_runner_on_a_local_cluster_gives_the_same_bytes(redocred_corpus: Path, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        beam = [
            "--runner=apache_beam.runners.dask.dask_runner.DaskRunner",
            f"--dask_client_address={cluster.scheduler_address}",
        ]
        manifest = build(tmp_path / "dask", [REDOCRED / "kg.ttl"], [REDOCRED / "docs.jsonl"], *beam)
    assert CorpusReader(tmp_path / "dask").verify() == []
    assert corpus_digests(tmp_path / "dask") == corpus_digests(redocred_corpus)
    assert manifest.statistics == CorpusReader(redocred_corpus).manifest.statistics

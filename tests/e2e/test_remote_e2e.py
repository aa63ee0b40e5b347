"""Two machines share compiled artifacts through a real remote (moto S3 on
loopback, redis-server): machine A runs torch.compile under `mithril run
--remote` and pushes; machine B starts empty at another path, pulls before
its first run, and that run is a cache hit with nothing recompiled. A dead
remote costs a bounded wait and never fails the job."""
import sys
import time

import pytest

from mithril_testlib import Mithril
from torch_runs import run_model, so_files

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
import remote_servers as rs  # noqa: E402


def assert_correct(run):
    assert run.rc == 0, run.stderr
    for name, model in run.result["models"].items():
        assert model["max_abs_diff"] < 1e-3, (name, model)


def machine_b(mithril_bin, tmp_path, env=None):
    b = Mithril(mithril_bin, tmp_path / "machine-b" / "somewhere" / "else" / "root")
    b.env.update(env or {})
    return b


@pytest.mark.parametrize("backend", ["s3", "redis"])
def test_machine_b_first_run_is_a_hit(warm_copy, tmp_path, mithril_bin, backend):
    with (rs.s3_server() if backend == "s3" else rs.redis_server()) as server:
        if backend == "s3":
            url = f"s3://{rs.new_bucket(server)}/fleet?endpoint={server}"
        else:
            url = f"redis://127.0.0.1:{server}/0?prefix=fleet:"
        warm_copy.env.update(rs.S3_CREDENTIALS)
        a = run_model(warm_copy, tmp_path, remote=url)
        assert_correct(a)
        assert warm_copy.stats()["counters"]["remote_pushed"] > 0
        b = machine_b(mithril_bin, tmp_path, rs.S3_CREDENTIALS)
        run = run_model(b, tmp_path, remote=url)
        assert_correct(run)
        assert run.counter("inductor.fxgraph_cache_hit") == 2
        assert run.counter("inductor.fxgraph_cache_miss") == 0
        assert so_files(b.root) != [], "kernels came from the remote"
        assert so_files(b.root) == so_files(warm_copy.root), "the same kernels, none rebuilt"
        c = b.stats()["counters"]
        assert c["remote_pulled"] > 0 and c["framework_new_entries"] == 0 and c["remote_errors"] == 0


def test_hung_remote_costs_a_bounded_wait(warm_copy, tmp_path):
    warm_copy.env.update({"MITHRIL_REMOTE_TIMEOUT_MS": "1000", "MITHRIL_REMOTE_CONNECT_TIMEOUT_MS": "1000"})
    with rs.hanging_server() as port:
        t0 = time.monotonic()
        run = run_model(warm_copy, tmp_path, remote=f"redis://127.0.0.1:{port}")
        took = time.monotonic() - t0
    assert_correct(run)
    assert run.counter("inductor.fxgraph_cache_hit") == 2
    c = warm_copy.stats()["counters"]
    assert c["remote_timeouts"] == 1, "pull timed out once; push skipped the known-dead remote"
    t1 = time.monotonic()
    local = run_model(warm_copy, tmp_path)
    assert_correct(local)
    # A hang detector, not a speed test: the remote's timeout is 1 s and its
    # deadline 300 s by default; far below that even on a loaded machine.
    assert took - (time.monotonic() - t1) < 120, "the hung remote was not abandoned after its timeout"

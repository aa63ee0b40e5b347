"""End-to-end fixtures: real torch.compile runs under the real `mithril` binary."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from mithril_testlib import Mithril  # noqa: E402

torch = pytest.importorskip("torch")


from torch_runs import run_model  # noqa: E402


@pytest.fixture(scope="session")
def warm_root(tmp_path_factory, mithril_bin):
    """A root filled by one cold run of both models (shared, copied per test)."""
    base = tmp_path_factory.mktemp("warm")
    m = Mithril(mithril_bin, base / "root")
    cold = run_model(m, base)
    assert cold.rc == 0, cold.stderr
    assert cold.counter("inductor.fxgraph_cache_miss") == 2
    return m.root, cold


@pytest.fixture
def warm_copy(warm_root, tmp_path, mithril_bin):
    root, _ = warm_root
    dst = tmp_path / "copy" / "root"
    shutil.copytree(root, dst)
    return Mithril(mithril_bin, dst)

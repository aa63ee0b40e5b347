"""Fixtures shared by the system and end-to-end tests: the real `mithril` binary."""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mithril_testlib import Mithril  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mithril_bin():
    path = os.environ.get("MITHRIL_BIN", str(REPO / "build" / "cli" / "mithril"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"mithril binary not found at {path}: run `make build` or set MITHRIL_BIN")
    return path


@pytest.fixture
def mithril(mithril_bin, tmp_path):
    return Mithril(mithril_bin, tmp_path / "root")

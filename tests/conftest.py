"""Fixtures shared by the system and end-to-end tests: the real `mithril` binary."""
import json
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


# Hostile-input cases (refused bundles, manifests, remote bytes, bad CLI
# input) are counted for the hardening report when MITHRIL_REPORT_DIR is set.
HOSTILE_WORDS = ("hostile", "refus", "corrupt", "tamper", "escape", "bad_input", "damaged", "flipped",
                 "truncated", "signed", "wrong")


def pytest_runtest_logreport(report):
    out = os.environ.get("MITHRIL_REPORT_DIR")
    if not out or report.when != "call" or not any(w in report.nodeid.lower() for w in HOSTILE_WORDS):
        return
    pathlib.Path(out).mkdir(parents=True, exist_ok=True)
    with open(pathlib.Path(out) / "hostile.jsonl", "a") as fh:
        fh.write(json.dumps({"test": report.nodeid, "passed": report.passed}) + "\n")

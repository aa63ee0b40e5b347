"""One version number: project(mithril_cache VERSION x.y.z) in CMakeLists.txt.
The installed package's metadata, mithril_cache.__version__ (the C++
library's kVersion) and the `mithril --version` of the wheel's CLI all say it."""
import importlib.metadata
import pathlib
import re
import subprocess
import sysconfig

import pytest

mc = pytest.importorskip("mithril_cache")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(\s*mithril_cache\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", text)[1]


def test_python_package_and_cli_report_the_project_version():
    version = project_version()
    assert mc.__version__ == version
    assert importlib.metadata.version("mithril-cache") == version
    cli = pathlib.Path(sysconfig.get_path("scripts")) / "mithril"
    assert cli.exists(), f"the wheel's CLI is missing at {cli}"
    out = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"mithril {version}"

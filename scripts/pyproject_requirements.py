"""Prints requirements that pyproject.toml declares, one a line, so that
scripts/install_deps.sh installs exactly what the package declares (one
source of truth: its optional-dependencies and build requirements).

    python scripts/pyproject_requirements.py [--build-system] [--missing] EXTRA...

--build-system  also [build-system].requires (pybind11, scikit-build-core)
--missing       only the requirements this interpreter does not satisfy yet
                (absent, wrong version, or an extra's own requirements absent)

Uses only the standard library and pip's vendored copies (tomli before
Python 3.11, packaging), so it runs in a venv that has nothing else yet.
Exits 2 on an unknown extra.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from importlib import metadata
from typing import Any, Dict, List, Set, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    from pip._vendor import tomli as tomllib

try:
    from packaging.requirements import Requirement
except ImportError:  # a venv without packaging: pip always carries it
    from pip._vendor.packaging.requirements import Requirement

PYPROJECT = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"


def declared(project: Dict[str, Any], extras: List[str], build_system: bool) -> List[str]:
    """The requirement strings of `extras` (and the build system), in order, without repeats."""
    groups = project["project"].get("optional-dependencies", {})
    unknown = [e for e in extras if e not in groups]
    if unknown:
        raise ValueError(f"unknown extra(s) {unknown}; pyproject.toml has {sorted(groups)}")
    out = list(project.get("build-system", {}).get("requires", [])) if build_system else []
    for extra in extras:
        out += [r for r in groups[extra] if r not in out]
    return out


def satisfied(req: Requirement, seen: Set[Tuple[str, str]]) -> bool:
    """True when the installed distributions meet `req`, its extras' requirements included."""
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return True
    try:
        dist = metadata.distribution(req.name)
    except metadata.PackageNotFoundError:
        return False
    if not req.specifier.contains(dist.version, prereleases=True):
        return False
    for extra in sorted(req.extras):
        if (req.name, extra) in seen:
            continue
        seen.add((req.name, extra))
        for text in dist.requires or []:
            sub = Requirement(text)
            if (
                sub.marker is not None
                and sub.marker.evaluate({"extra": extra})
                and not sub.marker.evaluate({"extra": ""})
            ):
                sub.marker = None  # required by this extra only
                if not satisfied(sub, seen):
                    return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("extras", nargs="*")
    ap.add_argument("--build-system", action="store_true")
    ap.add_argument("--missing", action="store_true")
    args = ap.parse_args()
    with open(PYPROJECT, "rb") as fh:
        project = tomllib.load(fh)
    try:
        reqs = declared(project, args.extras, args.build_system)
    except ValueError as e:
        print(f"pyproject_requirements: {e}", file=sys.stderr)
        return 2
    for text in reqs:
        if not args.missing or not satisfied(Requirement(text), set()):
            print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

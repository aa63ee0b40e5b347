#!/usr/bin/env bash
# Installs what mithril-cache needs, from Debian's packages and PyPI, into the
# system (Debian packages) and a project virtual environment (Python packages).
# Idempotent: installs only what is missing.
#
#   scripts/install_deps.sh demo   # compiler, libraries, venv with torch (CPU)
#   scripts/install_deps.sh test   # + test tools: gtest, clang-19, redis, moto, ...
#
# Environment:
#   PYTHON=...       the interpreter the venv is made from (default: python3);
#                    Debian's /usr/bin/python3 works (PEP 668 does not apply
#                    inside a venv)
#   VENV=...         where the venv lives (default: .venv in the checkout)
#   TORCH_WHEEL=...  a local torch wheel (CPU build) to install instead of
#                    looking one up
#   MITHRIL_NO_APT=1 never call apt-get (report what is missing instead)
#
# Torch is always the CPU build: `torch==2.13.0+cpu` (PyPI has no "+cpu"
# release, so a CUDA build can never be picked by accident). It comes from a
# wheel pip already knows (find-links), from PyTorch's CPU wheel index, or
# from the base interpreter when that one already has torch 2.13 (CPU).
set -euo pipefail

PROFILE="${1:-test}"
case "$PROFILE" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_SPEC="torch==2.13.0+cpu"
TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"
say() { echo "install_deps: $*"; }
die() { echo "install_deps: error: $*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------
build_debs=(g++ make pkg-config librust-blake3-dev libzstd-dev libsqlite3-dev libcli11-dev
            nlohmann-json3-dev libtomlplusplus-dev libarchive-dev libcurl4-openssl-dev libssl-dev
            libhiredis-dev libcpp-httplib-dev python3-venv python3-dev)
test_debs=(libgtest-dev libgmock-dev b3sum zstd redis-server clang-19 libclang-rt-19-dev clang-tidy-19 chromium)
debs=("${build_debs[@]}")
[ "$PROFILE" = test ] && debs+=("${test_debs[@]}")
command -v cmake >/dev/null 2>&1 || debs+=(cmake)
command -v ninja >/dev/null 2>&1 || debs+=(ninja-build)

install_debs() {
  local missing=() p
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: install ${debs[*]} yourself"; return 0; }
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ -n "${MITHRIL_NO_APT:-}" ] && die "missing Debian packages: ${missing[*]} (MITHRIL_NO_APT is set)"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing Debian packages: ${missing[*]}; run as root or install sudo"
    sudo="sudo"
  fi
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
install_debs "${debs[@]}"

# --- the virtual environment --------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "no Python interpreter '$PYTHON' (set PYTHON=/path/to/python3)"
has_cpu_torch() {  # $1: interpreter; true when it imports torch 2.13.x without CUDA
  "$1" -c "import torch, sys; sys.exit(0 if torch.__version__.startswith('2.13.') and torch.version.cuda is None else 1)" \
    >/dev/null 2>&1
}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -c "import venv, ensurepip" >/dev/null 2>&1 \
    || die "$PYTHON cannot make a virtual environment (Debian: apt-get install python3-venv)"
  venv_flags=()
  if has_cpu_torch "$PYTHON"; then
    say "$PYTHON already has torch 2.13 (CPU): the venv sees its packages"
    venv_flags+=(--system-site-packages)
  fi
  say "creating $VENV from $PYTHON"
  "$PYTHON" -m venv "${venv_flags[@]}" "$VENV"
fi
PY="$VENV/bin/python"
pip_install() { "$PY" -m pip install -q --disable-pip-version-check "$@"; }

# --- torch, CPU build ---------------------------------------------------
if ! has_cpu_torch "$PY"; then
  if "$PY" -c "import torch" >/dev/null 2>&1; then
    die "$VENV has a torch that is not 2.13 (CPU): $("$PY" -c 'import torch; print(torch.__version__, torch.version.cuda)'); remove $VENV or set VENV="
  fi
  if [ -n "${TORCH_WHEEL:-}" ]; then
    say "pip install $TORCH_WHEEL"
    pip_install "$TORCH_WHEEL"
  elif say "pip install $TORCH_SPEC" && pip_install "$TORCH_SPEC" 2>/dev/null; then
    :
  else
    say "no local CPU wheel of torch 2.13.0; trying PyTorch's CPU wheel index"
    pip_install --extra-index-url "$TORCH_CPU_INDEX" "$TORCH_SPEC" \
      || die "could not install $TORCH_SPEC (CPU build): give a wheel with TORCH_WHEEL=/path/torch-2.13.0+cpu-...whl"
  fi
  has_cpu_torch "$PY" || die "the torch installed in $VENV is not the 2.13 CPU build"
fi
# torch warns at import without NumPy; every real job has it.
"$PY" -c "import numpy" >/dev/null 2>&1 || { say "pip install numpy"; pip_install numpy; }

# --- test tools -----------------------------------------------------------
if [ "$PROFILE" = test ]; then
  # What pyproject.toml declares, so the two cannot disagree: the build
  # requirements (pybind11, scikit-build-core: `pip install .`, `make tidy`),
  # the `test` extra (pytest, moto[server], boto3, prometheus_client, triton)
  # and the `lint` extra (ruff, mypy; pinned). Only what is missing.
  missing="$("$PY" scripts/pyproject_requirements.py --missing --build-system test lint)" \
    || die "could not read the requirements from pyproject.toml"
  if [ -n "$missing" ]; then
    mapfile -t reqs <<<"$missing"
    say "pip install ${reqs[*]}"
    pip_install "${reqs[@]}"
  fi
fi
say "ready ($PROFILE): $("$PY" -c 'import sys, torch; print(sys.executable, "torch", torch.__version__)')"

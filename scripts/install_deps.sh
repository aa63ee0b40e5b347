#!/usr/bin/env bash
# Installs everything mithril-cache needs to build, test and benchmark, from
# Debian's packages and PyPI. Idempotent: installs only what is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

debs=(g++ make pkg-config librust-blake3-dev libzstd-dev libsqlite3-dev libgtest-dev libgmock-dev
      libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libarchive-dev b3sum zstd
      libcurl4-openssl-dev libssl-dev libhiredis-dev redis-server clang-19 libclang-rt-19-dev clang-tidy-19
      libcpp-httplib-dev chromium)
command -v cmake >/dev/null 2>&1 || debs+=(cmake)
command -v ninja >/dev/null 2>&1 || debs+=(ninja-build)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install_deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c "import pytest, prometheus_client, pybind11" >/dev/null 2>&1; then
  # pybind11 here too (pip builds the extension in an isolated environment):
  # `make tidy` configures the bindings against it.
  echo "install_deps: pip install pytest prometheus_client pybind11"
  "$PYTHON" -m pip install -q pytest prometheus_client "pybind11>=2.12"
fi
# The remote-tier tests run a real S3-API server (moto) on loopback and
# compare SigV4 signatures and download speed with botocore / boto3.
if ! "$PYTHON" -c "import moto.server, flask_cors, boto3" >/dev/null 2>&1; then
  echo "install_deps: pip install moto[server] boto3"
  "$PYTHON" -m pip install -q "moto[server]" boto3
fi
# The end-to-end tests and the demo use real PyTorch (CPU build). Pinned:
# a bare "torch" would pull a multi-GB CUDA build.
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  echo "install_deps: pip install torch==2.13.0 (CPU)"
  "$PYTHON" -m pip install -q torch==2.13.0
fi
# Triton's real cache classes for the plug-in tests (it imports without a GPU).
if ! "$PYTHON" -c "import triton" >/dev/null 2>&1; then
  echo "install_deps: pip install triton==3.9.0"
  "$PYTHON" -m pip install -q triton==3.9.0
fi

"""GPU machines (docs/frameworks.md): framework caches are partitioned by CUDA
compute capability, driver branch and CPU ISA, detected with a fake NVML
(build/tests/libfake_nvml.so, tests/fake_nvml/) or a fake nvidia-smi on PATH.
No GPU is needed; without one the partition is exactly the CPU one."""
import json
import os
import pathlib
import shutil
import time

import pytest

from mithril_testlib import Mithril, write_files

SHOW = 'echo "$TORCHINDUCTOR_CACHE_DIR"; echo "$TRITON_CACHE_DIR"'
TWO_KINDS = ("0, GPU-aaaa1111-0000-4000-8000-000000000000, 8.0, 550.54.15\n"
             "1, GPU-bbbb2222-0000-4000-8000-000000000000, 9.0, 550.54.15\n")


@pytest.fixture
def fake_nvml(mithril_bin):
    path = os.environ.get("MITHRIL_FAKE_NVML",
                          str(pathlib.Path(mithril_bin).resolve().parents[1] / "tests" / "libfake_nvml.so"))
    if not os.path.exists(path):
        pytest.fail(f"fake NVML not found at {path}: build the tests or set MITHRIL_FAKE_NVML")
    return path


@pytest.fixture
def nogpu_path(tmp_path):
    """A PATH with the few tools the tests' jobs use but no nvidia-smi, so a
    real GPU box cannot leak in."""
    d = tmp_path / "bin"
    d.mkdir()
    for tool in ("sh", "mkdir", "head", "sleep"):
        os.symlink(shutil.which(tool), d / tool)
    return str(d)


def machine(mithril, path, **env):
    """Points `mithril` at a fake machine: ISA pinned, given PATH, given vars."""
    for k in ("CUDA_VISIBLE_DEVICES", "MITHRIL_NVML_LIBRARY", "FAKE_NVML_CC", "FAKE_NVML_DRIVER", "FAKE_NVML_INIT_FAIL"):
        mithril.env.pop(k, None)
    mithril.env.update({"ATEN_CPU_CAPABILITY": "avx2", "PATH": path, "MITHRIL_NVML_LIBRARY": ""})
    mithril.env.update(env)
    return mithril


def job_dirs(mithril):
    """What a job under `mithril run` sees, relative to the root."""
    out = mithril.run("run", "--", "/bin/sh", "-c", SHOW).stdout.decode().split()
    assert len(out) == 2, out
    return [str(pathlib.Path(p).relative_to(mithril.root)) for p in out]


def fake_smi(tmp_path, body):
    d = tmp_path / "smi"
    d.mkdir(exist_ok=True)
    exe = d / "nvidia-smi"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(0o755)
    return str(d)


def test_gpu_job_lands_in_the_gpu_partition(mithril, fake_nvml, nogpu_path):
    machine(mithril, nogpu_path, MITHRIL_NVML_LIBRARY=fake_nvml, FAKE_NVML_CC="9.0", FAKE_NVML_DRIVER="550.54.15")
    assert job_dirs(mithril) == ["fw/cuda-sm90-drv550-cpu-AVX2/inductor", "fw/cuda-sm90-drv550-cpu-AVX2/triton"]
    env = mithril.run("env").stdout.decode()
    assert "/fw/cuda-sm90-drv550-cpu-AVX2/inductor'" in env


def test_two_gpu_kinds_follow_cuda_visible_devices(mithril, fake_nvml, nogpu_path):
    machine(mithril, nogpu_path, MITHRIL_NVML_LIBRARY=fake_nvml, FAKE_NVML_CC="8.0,9.0")
    assert job_dirs(mithril)[0] == "fw/cuda-sm80-drv550-cpu-AVX2/inductor"      # unset: device 0
    mithril.env["CUDA_VISIBLE_DEVICES"] = "1"
    assert job_dirs(mithril)[0] == "fw/cuda-sm90-drv550-cpu-AVX2/inductor"
    mithril.env["CUDA_VISIBLE_DEVICES"] = "GPU-fa4e0001-0000-4000-8000-000000000001"
    assert job_dirs(mithril)[0] == "fw/cuda-sm90-drv550-cpu-AVX2/inductor"
    for hidden in ("", "-1", "5"):                                                # no device visible
        mithril.env["CUDA_VISIBLE_DEVICES"] = hidden
        assert job_dirs(mithril)[0] == "fw/cpu-AVX2/inductor", hidden


def test_no_gpu_keeps_the_cpu_partition(mithril, fake_nvml, nogpu_path):
    machine(mithril, nogpu_path)  # no NVML, no nvidia-smi
    assert job_dirs(mithril) == ["fw/cpu-AVX2/inductor", "fw/cpu-AVX2/triton"]
    machine(mithril, nogpu_path, MITHRIL_NVML_LIBRARY=fake_nvml, FAKE_NVML_CC="")  # a driver, no GPU
    assert job_dirs(mithril)[0] == "fw/cpu-AVX2/inductor"
    machine(mithril, nogpu_path, MITHRIL_NVML_LIBRARY=fake_nvml, FAKE_NVML_INIT_FAIL="1")
    assert job_dirs(mithril)[0] == "fw/cpu-AVX2/inductor"
    machine(mithril, nogpu_path, MITHRIL_NVML_LIBRARY="/nonexistent/libnvidia-ml.so.1")
    assert job_dirs(mithril)[0] == "fw/cpu-AVX2/inductor"


def test_fake_nvidia_smi_on_path(mithril, tmp_path, nogpu_path):
    smi = fake_smi(tmp_path, f"printf '%s' '{TWO_KINDS}'\n")
    machine(mithril, smi + ":" + nogpu_path, CUDA_VISIBLE_DEVICES="1")
    assert job_dirs(mithril)[0] == "fw/cuda-sm90-drv550-cpu-AVX2/inductor"


@pytest.mark.parametrize("body", ["echo 'NVIDIA-SMI has failed because it could not communicate'\n",
                                  "echo '0, GPU-x, 9000.0, 550.1'\n",
                                  "head -c 10000000 /dev/zero\n",
                                  "exit 7\n"])
def test_garbage_nvidia_smi_means_cpu_partition(mithril, tmp_path, nogpu_path, body):
    machine(mithril, fake_smi(tmp_path, body) + ":" + nogpu_path)
    assert job_dirs(mithril)[0] == "fw/cpu-AVX2/inductor"


def test_hung_nvidia_smi_costs_at_most_two_seconds(mithril, tmp_path, nogpu_path):
    machine(mithril, fake_smi(tmp_path, "sleep 60\n") + ":" + nogpu_path)
    start = time.monotonic()
    assert job_dirs(mithril)[0] == "fw/cpu-AVX2/inductor"
    assert time.monotonic() - start < 8  # 2 s bound + process start-up on a busy 2-core VM


def test_gpu_partition_pushes_pulls_and_packs_under_its_own_name(mithril_bin, tmp_path, fake_nvml, nogpu_path):
    gpu = {"MITHRIL_NVML_LIBRARY": fake_nvml, "FAKE_NVML_CC": "9.0"}
    a = machine(Mithril(mithril_bin, tmp_path / "a"), nogpu_path, **gpu)
    write = 'mkdir -p "$TRITON_CACHE_DIR/KHASH" && echo cubin > "$TRITON_CACHE_DIR/KHASH/k.cubin"'
    a.run("run", "--", "/bin/sh", "-c", write)
    assert a.stats()["framework_entries"] == 1
    remote = tmp_path / "remote"
    url = f"file://{remote}"
    assert json.loads(a.run("push", "--remote", url, "--json").stdout)["entries_transferred"] == 1
    assert list((remote / "v1" / "fw").iterdir()) == [remote / "v1" / "fw" / "cuda-sm90-drv550-cpu-AVX2"]

    # Another GPU machine of the same kind pulls it; a CPU machine sees nothing.
    b = machine(Mithril(mithril_bin, tmp_path / "b"), nogpu_path, **gpu)
    assert json.loads(b.run("pull", "--remote", url, "--json").stdout)["entries_transferred"] == 1
    assert (b.root / "fw/cuda-sm90-drv550-cpu-AVX2/triton/KHASH/k.cubin").read_text() == "cubin\n"
    cpu = machine(Mithril(mithril_bin, tmp_path / "c"), nogpu_path)
    assert json.loads(cpu.run("pull", "--remote", url, "--json").stdout)["entries_transferred"] == 0
    other = machine(Mithril(mithril_bin, tmp_path / "d"), nogpu_path, **{**gpu, "FAKE_NVML_CC": "8.0"})
    assert json.loads(other.run("pull", "--remote", url, "--json").stdout)["entries_transferred"] == 0

    # A bundle carries the partition name and unpacks under it, on any machine.
    bundle = tmp_path / "gpu.tar.zst"
    a.run("pack", bundle)
    cpu.run("unpack", bundle)
    assert (cpu.root / "fw/cuda-sm90-drv550-cpu-AVX2/triton/KHASH/k.cubin").read_text() == "cubin\n"

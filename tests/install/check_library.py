"""The installed C++ library as a user's project meets it: `cmake --install`
of a configured build into a temporary prefix, then a small program
(tests/install/consumer/) built against that prefix two ways and run:

  - CMake: find_package(mithril), linking mithril::mithril (shared) and
    mithril::mithril_static;
  - pkg-config: g++ -std=c++23 consumer.cc $(pkg-config --cflags --libs mithril).

Also checks what was installed (library files, public headers only, package
files with the project's version) and that libmithril.so exports the public
API and hides the engine's internals. Then the dependency rules of the build
that made it (tests/install/check_layers.py: each layer's include view holds
what cmake/MithrilLayers.cmake allows, no more, and ARCHITECTURE.md agrees).

    python tests/install/check_library.py --build build

Prints "install-lib-test: N passed, N failed" last; exits 1 on any failure.
"""
import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_layers  # next to this file

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "tests" / "install" / "consumer"
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(bool(ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)
    return ok


def run(cmd, env=None, timeout=600):
    """(ok, output) of `cmd`; the output is shown indented when it failed."""
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    if p.returncode != 0:
        print("  $ " + " ".join(str(c) for c in cmd), flush=True)
        print("\n".join("  | " + ln for ln in out.splitlines()[-40:]), flush=True)
    return p.returncode == 0, out


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    return re.search(r"project\(\s*mithril_cache\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", text)[1]


def check_installed_files(prefix, libdir, version):
    for rel in ("libmithril.a", "libmithril.so", "cmake/mithril/mithrilConfig.cmake",
                "cmake/mithril/mithrilConfigVersion.cmake", "pkgconfig/mithril.pc"):
        check(f"installed {libdir.name}/{rel}", (libdir / rel).exists())
    public = sorted(p.name for p in (ROOT / "include" / "mithril").glob("*.h")) + ["version.h"]
    installed = sorted(p.name for p in (prefix / "include" / "mithril").iterdir())
    check("installed headers are exactly the public ones", installed == sorted(public),
          f"{installed} != {sorted(public)}")
    header = (prefix / "include" / "mithril" / "version.h").read_text()
    check("installed version.h carries the project version", f'"{version}"' in header)


def check_exports(so):
    ok, out = run(["nm", "-D", "--defined-only", "-C", str(so)])
    if not check("nm -D libmithril.so", ok):
        return
    check("libmithril.so exports the public API (Cache::open)", "mithril::Cache::open(" in out)
    # The SQLite index is an engine internal (src/index/), not public API.
    leaked = [ln for ln in out.splitlines() if "mithril::Index::" in ln]
    check("libmithril.so hides the engine's internals (mithril::Index)", not leaked, "; ".join(leaked[:3]))


def check_cmake_consumer(tmp, prefix, version):
    build = tmp / "consumer-cmake"
    ok, _ = run(["cmake", "-S", str(CONSUMER), "-B", str(build), f"-DCMAKE_PREFIX_PATH={prefix}",
                 "-DCMAKE_BUILD_TYPE=Release"])
    if not check("find_package(mithril) configures", ok):
        return
    ok, _ = run(["cmake", "--build", str(build), "-j", "2"])
    if not check("consumer builds against mithril::mithril and mithril::mithril_static", ok):
        return
    for exe in ("consumer_shared", "consumer_static"):
        # No LD_LIBRARY_PATH: CMake gives the build-tree program an rpath to the prefix.
        ok, out = run([str(build / exe), str(tmp / exe), version])
        check(f"{exe} puts and gets a blob", ok and out.startswith("consumer: ok"), out.strip())


def check_pkg_config_consumer(tmp, prefix, libdir, version):
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"))
    ok, out = run(["pkg-config", "--modversion", "mithril"], env=env)
    check("pkg-config --modversion mithril is the project version", ok and out.strip() == version, out.strip())
    ok, flags = run(["pkg-config", "--cflags", "--libs", "mithril"], env=env)
    if not check("pkg-config --cflags --libs mithril", ok):
        return
    exe = tmp / "consumer_pkg_config"
    ok, _ = run(["g++", "-std=c++23", str(CONSUMER / "consumer.cc"), *flags.split(), "-o", str(exe)])
    if not check("g++ builds the consumer with pkg-config's flags", ok):
        return
    ok, out = run([str(exe), str(tmp / "pkg-config"), version], env=dict(os.environ, LD_LIBRARY_PATH=str(libdir)))
    check("consumer_pkg_config puts and gets a blob", ok and out.startswith("consumer: ok"), out.strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="a configured and built build directory")
    args = ap.parse_args()
    version = project_version()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mithril-install-lib-"))
    try:
        prefix = tmp / "prefix"
        ok, _ = run(["cmake", "--install", args.build, "--prefix", str(prefix)])
        if check(f"cmake --install {args.build} --prefix <tmp>", ok):
            libdir = next((d for d in (prefix / "lib", *prefix.glob("lib/*-linux-gnu")) if (d / "pkgconfig").is_dir()),
                          prefix / "lib")
            check_installed_files(prefix, libdir, version)
            check_exports(libdir / "libmithril.so")
            check_cmake_consumer(tmp, prefix, version)
            check_pkg_config_consumer(tmp, prefix, libdir, version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    check_layers.run_checks(args.build, check)
    passed = sum(RESULTS)
    print(f"install-lib-test: {passed} passed, {len(RESULTS) - passed} failed", flush=True)
    return 0 if RESULTS and all(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())

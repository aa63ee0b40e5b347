"""`mithril explain --torch` on real torch.compile runs that differ by one
inductor config flag: the second run misses, and the explanation names that
flag (and only it) as the differing component of the FX graph cache key.
The recording adds nothing to the job's stderr and chains to an existing
sitecustomize."""
import sys

from mithril_testlib import Mithril
from torch_runs import run_model


def explain(m):
    return m.run("explain", "--torch", check=False)


def test_one_config_flag_is_named_as_the_reason_for_the_miss(mithril_bin, tmp_path):
    m = Mithril(mithril_bin, tmp_path / "root")
    first = run_model(m, tmp_path, models="mlp", explain=True)
    assert first.rc == 0, first.stderr
    assert "DEBUG" not in first.stderr and "hash details" not in first.stderr
    again = run_model(m, tmp_path, models="mlp", explain=True)
    assert again.counter("inductor.fxgraph_cache_hit") == 1
    assert explain(m).returncode == 0  # the latest run had no miss
    flipped = run_model(m, tmp_path, models="mlp", explain=True,
                        extra_env={"MITHRIL_DEMO_INDUCTOR_FLAG": "max_autotune_gemm=true"})
    assert flipped.counter("inductor.fxgraph_cache_miss") == 1
    out = explain(m)
    assert out.returncode == 1
    text = out.stdout.decode()
    assert "1 of" in text and "components differ" in text, text
    assert "inductor_config[max_autotune_gemm]: False -> True" in text, text


def test_explain_hook_chains_to_an_existing_sitecustomize(mithril_bin, tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import os\nos.environ['USER_SITECUSTOMIZE_RAN'] = '1'\n")
    m = Mithril(mithril_bin, tmp_path / "root")
    m.env["PYTHONPATH"] = str(own)
    p = m.run("run", "--explain", "--", sys.executable, "-c",
              "import os, logging; print(os.environ.get('USER_SITECUSTOMIZE_RAN'), "
              "any(type(h).__name__ == '_Recorder' for h in logging.getLogger('torch._inductor.codecache').handlers))")
    assert p.stdout.decode().split() == ["1", "True"], p.stderr.decode()

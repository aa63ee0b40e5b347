"""A small model built in code (no downloads): an MLP and a transformer block,
compiled with torch.compile on the CPU. Run as a script it prints one JSON line
with timings and torch's own cache counters, so a parent process can compare
cold and warm runs.

    python -m mithril_cache.demo_model [--models mlp,tfm] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

T0 = time.perf_counter()
if os.environ.get("MITHRIL_DEMO_INIT_ROOT"):  # the one-line in-process hook
    import mithril_cache

    mithril_cache.init(root=os.environ["MITHRIL_DEMO_INIT_ROOT"])
import torch  # noqa: E402
from torch import nn  # noqa: E402

T_IMPORT = time.perf_counter() - T0


class Block(nn.Module):
    """Pre-LayerNorm transformer block with causal self-attention."""

    def __init__(self, d: int = 128, heads: int = 4, ff: int = 512) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)

        def split(z: torch.Tensor) -> torch.Tensor:
            return z.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(q), split(k), split(v)
        att = (q @ k.transpose(-2, -1)) / (d // self.heads) ** 0.5
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        out: torch.Tensor = x + self.ff(self.ln2(x))
        return out


def build(name: str, seed: int) -> Tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(seed)
    if name == "mlp":
        model = nn.Sequential(nn.Linear(256, 512), nn.GELU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        return model, torch.randn(32, 256)
    if name == "tfm":
        return Block(), torch.randn(8, 32, 128)
    raise SystemExit(f"unknown model {name!r}")


def cache_counters() -> Dict[str, int]:
    from torch._dynamo.utils import counters

    out: Dict[str, int] = {}
    for group in ("inductor", "aot_autograd"):
        for k, v in counters[group].items():
            if "cache" in k:
                out[f"{group}.{k}"] = v
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="mlp,tfm")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    models: Dict[str, Dict[str, float]] = {}
    result: Dict[str, Any] = {"import_s": round(T_IMPORT, 3), "models": models}
    # One inductor config flag set from outside (NAME=VALUE), for tests of `mithril explain --torch`.
    flag = os.environ.get("MITHRIL_DEMO_INDUCTOR_FLAG")
    if flag:
        name, value = flag.split("=", 1)
        setattr(torch._inductor.config, name, json.loads(value))
    # torch's own portable cache, for benchmarks that compare with it.
    load_from = os.environ.get("MITHRIL_DEMO_LOAD_ARTIFACTS")
    if load_from:
        with open(load_from, "rb") as fh:
            torch.compiler.load_cache_artifacts(fh.read())
    for name in args.models.split(","):
        model, x = build(name, args.seed)
        with torch.no_grad():
            eager = model(x)
            compiled = torch.compile(model)
            t = time.perf_counter()
            out = compiled(x)
            first = time.perf_counter() - t
        models[name] = {"first_call_s": round(first, 3), "max_abs_diff": float((out - eager).abs().max())}
    result["counters"] = cache_counters()
    save_to = os.environ.get("MITHRIL_DEMO_SAVE_ARTIFACTS")
    if save_to:
        artifacts = torch.compiler.save_cache_artifacts()
        with open(save_to, "wb") as fh:
            fh.write(artifacts[0] if artifacts else b"")
    result["total_s"] = round(time.perf_counter() - T0, 3)
    out = os.environ.get("MITHRIL_DEMO_OUT")
    if out:
        with open(out, "w") as fh:
            json.dump(result, fh)
    else:
        print("MITHRIL_DEMO_RESULT " + json.dumps(result, sort_keys=True))  # noqa: T201 - the script's output
    ok = all(m["max_abs_diff"] < 1e-3 for m in models.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

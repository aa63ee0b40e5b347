"""Records why PyTorch's FX graph cache hits or misses, for `mithril explain
--torch`: torch logs each graph's cache-key components (graph code, input
metadata, compile flags, torch version, system, every inductor config value,
each with its own hash) at DEBUG level on the logger
"torch._inductor.codecache". This module captures those records silently
(nothing reaches the job's stderr) into <root>/explain/torch-keys.jsonl, one
JSON line per graph: {"t", "pid", "key", "outcome", "components": {name:
[hash, value]}}. The file is trimmed to its newest half past 8 MiB.

Enabled by `mithril run --explain` or `mithril_cache.init(explain=True)`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from typing import Any, Dict, List

_LINE = re.compile(r"^\[(?P<hash>[^\]]+)\] (?P<name>[^:]+): ?(?P<value>.*)$")
_MAX_BYTES = 8 << 20
_lock = threading.Lock()


class _Recorder(logging.Handler):
    def __init__(self, path: str) -> None:
        super().__init__(level=logging.DEBUG)
        self.path = path
        self.pending: Dict[str, Dict[str, Any]] = {}  # key -> record waiting for its hit/miss line

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage()
            if msg.startswith("FX graph cache hash details for key "):
                head, _, body = msg.partition("\n")
                key = head[len("FX graph cache hash details for key ") :].rstrip(":")
                comps: Dict[str, List[str]] = {}
                for line in body.splitlines():
                    m = _LINE.match(line)
                    if m:
                        comps[m["name"]] = [m["hash"], m["value"][:200]]
                self.pending[key] = {
                    "t": time.time_ns(),
                    "pid": os.getpid(),
                    "key": key,
                    "outcome": "unknown",
                    "components": comps,
                }
            elif msg.startswith(("fx graph cache hit for key ", "fx graph cache miss for key ")):
                key = msg.rsplit(" ", 1)[-1]
                # A hit through AOTAutograd's cache logs no key details: record the outcome alone.
                rec = self.pending.pop(key, None) or {
                    "t": time.time_ns(),
                    "pid": os.getpid(),
                    "key": key,
                    "components": {},
                }
                rec["outcome"] = "hit" if " hit " in msg else "miss"
                self._write(rec)
        except Exception:  # never disturb the job
            pass

    def _write(self, rec: Dict[str, Any]) -> None:
        with _lock:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            with open(self.path, "a") as fh:
                fh.write(json.dumps(rec) + "\n")
            if os.path.getsize(self.path) > _MAX_BYTES:
                with open(self.path) as fh:
                    lines = fh.readlines()
                tmp = self.path + f".tmp.{os.getpid()}"
                with open(tmp, "w") as fh:
                    fh.writelines(lines[len(lines) // 2 :])
                os.replace(tmp, self.path)


def install(root: str) -> None:
    """Starts recording torch's FX graph cache keys under `root`."""
    logger = logging.getLogger("torch._inductor.codecache")
    if any(isinstance(h, _Recorder) for h in logger.handlers):
        return
    logger.addHandler(_Recorder(os.path.join(os.path.abspath(root), "explain", "torch-keys.jsonl")))
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # torch's DEBUG lines must not reach the job's stderr

"""mithril-cache: a bounded, verified, portable cache for torch.compile and Triton.

One line puts every torch.compile / Triton artifact of this process under
mithril's management::

    import mithril_cache
    mgr = mithril_cache.init(max_size="20G")   # before the first torch.compile

`init()` points TORCHINDUCTOR_CACHE_DIR and TRITON_CACHE_DIR into the root
(a partition per CPU ISA level, and per GPU kind and driver branch when the
process sees a CUDA device; detected without initializing CUDA), quarantines damaged entries before torch can
load them, and at exit records what torch wrote and read and evicts
least-recently-used entries down to the budget. Wrapping a command works the
same without code changes: ``mithril run -- python train.py``.
"""
from __future__ import annotations

import atexit
import os
import warnings
from typing import Dict, Optional

from . import _core
from ._core import Cache as Cache
from ._core import CacheConfig as CacheConfig
from ._core import CacheKey as CacheKey
from ._core import ContentStore as ContentStore
from ._core import DeviceClass as DeviceClass
from ._core import InputSpec as InputSpec
from ._typing import PathArg, Setting, SizeArg
from .reports import FrameworkReport, GcReport, StatsReport, SyncReport

__version__ = _core.__version__


class MithrilError(Exception):
    """Base class of every error raised by mithril_cache."""


class InvalidArgumentError(MithrilError, ValueError):
    """A malformed argument: bad size, bad digest, unsafe file name, ..."""


class CorruptionError(MithrilError):
    """Stored bytes do not match their digest or format."""


class CacheIOError(MithrilError, OSError):
    """The operating system refused an operation."""


class NoSpaceError(CacheIOError):
    """The disk or quota is full."""


class CacheTimeoutError(MithrilError, TimeoutError):
    """A bounded wait ran out."""


class UnavailableError(MithrilError):
    """A dependency (database, remote) cannot be reached."""


class BusyError(MithrilError):
    """Another process held a lock for too long."""


_core._register_errors(MithrilError, {
    1: InvalidArgumentError, 2: CorruptionError, 3: CacheIOError, 4: NoSpaceError,
    5: CacheTimeoutError, 6: UnavailableError, 7: BusyError, 8: MithrilError,
})


def _overrides(root: Optional[PathArg], max_size: Optional[SizeArg], settings: Dict[str, Setting]) -> Dict[str, str]:
    out = {k: _text(v) for k, v in settings.items()}
    if root is not None:
        out["root"] = os.fspath(root)
    if max_size is not None:
        out["max_size"] = _text(max_size)
    return out


def _text(v: Setting) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def load_config(root: Optional[PathArg] = None, max_size: Optional[SizeArg] = None, **settings: Setting) -> CacheConfig:
    """The effective configuration: defaults < <root>/mithril.toml < MITHRIL_* < these arguments."""
    return _core.load_config(_overrides(root, max_size, settings))


def open_cache(root: Optional[PathArg] = None, max_size: Optional[SizeArg] = None, **settings: Setting) -> Cache:
    """Opens (creating if needed) a cache root."""
    return Cache.open(load_config(root, max_size, **settings))


class CacheManager:
    """Manages the framework caches of this process (see init())."""

    def __init__(self, cache: Cache, partition: DeviceClass, managed: Dict[str, str]) -> None:
        self.cache = cache
        self.partition = partition
        self.managed = managed  # env var -> directory
        self._session = _core.FrameworkSession(cache, partition)
        self.check_report = self._session.begin()
        self.remote = cache.config.remote
        self.pull_report = self._sync("pull") if self.remote else None
        self._closed = False
        atexit.register(self.close)

    def _sync(self, verb: str) -> Optional[SyncReport]:
        # Never fails the job: a remote problem is a warning and a counter.
        try:
            if verb == "pull":
                r = self.cache.pull(self.partition, self.remote, bounded=True)
            else:
                r = self.cache.push(self.partition, self.remote)
        except MithrilError as e:
            warnings.warn(f"mithril: {verb} skipped: {e}", stacklevel=2)
            return None
        if r["errors"] or r["timeouts"] or r["rejected"]:
            warnings.warn(f"mithril: {verb}: {r['errors']} errors, {r['timeouts']} timeouts, "
                          f"{r['rejected']} rejected; first: {r['first_problem']}", stacklevel=2)
        return r

    def stats(self) -> StatsReport:
        return self.cache.stats()

    def gc(self, max_size: Optional[SizeArg] = None) -> GcReport:
        budget = None if max_size is None else _core.parse_size(_text(max_size))
        return self.cache.gc(budget)

    def close(self) -> Optional[FrameworkReport]:
        """Records what the frameworks wrote and read, then enforces the budget."""
        if self._closed:
            return None
        self._closed = True
        try:
            report = self._session.end()
        except MithrilError as e:  # never fail the user's job because of the cache
            warnings.warn(f"mithril: recording the run failed: {e}", stacklevel=2)
            return None
        if self.remote and not (self.pull_report and self.pull_report["remote_gave_up"]):
            self.push_report = self._sync("push")
        return report


_manager: Optional[CacheManager] = None


def init(root: Optional[PathArg] = None, max_size: Optional[SizeArg] = None, explain: bool = False,
         **settings: Setting) -> CacheManager:
    """Points PyTorch Inductor and Triton at the managed root. Call it before
    the first torch.compile. A variable the user already set is respected
    (with a warning) and that framework is then not managed. With a remote
    (``remote="s3://..."`` or MITHRIL_REMOTE), pulls now and pushes at exit,
    failing open (docs/remote.md)."""
    global _manager
    if _manager is not None:
        return _manager
    config = load_config(root, max_size, **settings)
    config.root = os.path.abspath(config.root)
    partition = DeviceClass.detect()
    cache = Cache.open(config)  # first: a root mithril refuses (another owner, loose modes) is never handed to torch
    managed = {}
    for var, path in _core.framework_dirs(config.root, partition).items():
        current = os.environ.get(var)
        if current and os.path.abspath(current) != path:
            warnings.warn(f"mithril: {var} is set to {current}; leaving it alone (not managed)", stacklevel=2)
            continue
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.environ[var] = path
        managed[var] = path
    if explain or os.environ.get("MITHRIL_EXPLAIN") == "1":
        from . import explain as _explain
        _explain.install(config.root)  # for `mithril explain --torch`
    _manager = CacheManager(cache, partition, managed)
    return _manager


def stats(root: Optional[PathArg] = None) -> StatsReport:
    """Counters and sizes of a root (default: the configured one)."""
    return open_cache(root).stats()

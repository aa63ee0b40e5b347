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
same without code changes: ``mithril run -- python train.py``; both run the
library's RunSession, so both fail open the same way: a cache problem is a
MithrilWarning and the job goes on, at worst with torch's own directories.
"""

from __future__ import annotations

import atexit
import os
import warnings
from typing import Dict, List, Optional, Tuple, Type

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


def _error_classes() -> Dict[int, Type[BaseException]]:
    """ErrorCode -> exception class, by the library's one error table (kErrorTable)."""
    classes: Dict[str, Type[MithrilError]] = {
        c.__name__: c
        for c in (
            MithrilError,
            InvalidArgumentError,
            CorruptionError,
            CacheIOError,
            NoSpaceError,
            CacheTimeoutError,
            UnavailableError,
            BusyError,
        )
    }
    return {code: classes[class_name] for code, _name, _description, _exit, class_name in _core._error_table()}


_core._register_errors(MithrilError, _error_classes())


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


class MithrilWarning(UserWarning):
    """A cache problem mithril worked around: the job goes on, with less (at
    worst torch's and Triton's own default directories)."""


def _warn_all(messages: List[str], stacklevel: int) -> None:
    for m in messages:
        warnings.warn(f"mithril: {m}", MithrilWarning, stacklevel=stacklevel + 1)


class CacheManager:
    """The framework caches of this process under a mithril root: one
    ``RunSession`` of the C++ library (the cycle ``mithril run`` runs), made by
    init(). It prepares when made (framework directories, trust and integrity
    checks, pull) and finishes at close(), at the end of a ``with`` block or
    at interpreter exit (recording, budget, push). Cache problems are
    MithrilWarning, never exceptions.

    Attributes: ``managed`` (variable -> directory now set in os.environ;
    empty when the cache is not in use), ``partition``, ``check_report``,
    ``pull_report`` and, after close(), ``push_report`` (dicts, or None when
    the step did not run).
    """

    def __init__(self, config: Optional[CacheConfig], problem: Optional[str] = None) -> None:
        self.config = config
        self.remote = config.remote if config is not None else ""
        self.managed: Dict[str, str] = {}
        self.check_report: Optional[FrameworkReport] = None
        self.pull_report: Optional[SyncReport] = None
        self.push_report: Optional[SyncReport] = None
        self._session: Optional[_core.RunSession] = None
        self._cache: Optional[Cache] = None
        self._closed = False
        if config is None:
            _warn_all([f"{problem}; running without the cache"], stacklevel=3)
            self.partition = DeviceClass.detect()
            return
        self._session = _core.RunSession(config)
        self.partition = self._session.partition
        prepared = self._session.prepare()
        _warn_all(prepared["warnings"], stacklevel=3)
        for var, path in prepared["env"].items():
            os.environ[var] = path
        self.managed = dict(prepared["env"])
        self.check_report = prepared["check"]
        self.pull_report = prepared["pull"]
        atexit.register(self.close)

    def __enter__(self) -> CacheManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def cache(self) -> Cache:
        """The root, opened on first use (raises MithrilError when it cannot be)."""
        if self._cache is None:
            if self.config is None:
                raise UnavailableError("mithril: the cache is not in use (see the warning init() gave)")
            self._cache = Cache.open(self.config)
        return self._cache

    def stats(self) -> StatsReport:
        """The same document as ``mithril stats --json`` (docs/cli.md)."""
        return self.cache.stats()

    def gc(self, max_size: Optional[SizeArg] = None) -> GcReport:
        """Like ``mithril gc``: records what the frameworks wrote so far, then
        evicts least-recently-used entries down to `max_size` (default: the budget)."""
        budget = None if max_size is None else _core.parse_size(_text(max_size))
        return _core.sync_and_gc(self.cache, self.partition, budget)

    def close(self) -> Optional[FrameworkReport]:
        """Finishes the session: records what the frameworks wrote and read,
        enforces the budget, pushes to the remote. Returns the recording's
        report (None when it did not run). Only the first call does anything."""
        global _manager
        if self._closed:
            return None
        self._closed = True
        if _manager is self:
            _manager = None
        if self._session is None:
            return None
        finished = self._session.finish()
        _warn_all(finished["warnings"], stacklevel=2)
        self.push_report = finished["push"]
        return finished["synced"]


_manager: Optional[CacheManager] = None
_manager_args: Optional[Tuple[Dict[str, str], bool]] = None


def _session_config(
    root: Optional[PathArg], max_size: Optional[SizeArg], settings: Dict[str, Setting]
) -> Tuple[Optional[CacheConfig], Optional[str]]:
    """The configuration, or None and why when the environment, the root's
    mithril.toml or the root itself makes it unusable. Raises only for a bad
    argument (an unknown setting, a malformed size)."""
    try:
        config = load_config(root, max_size, **settings)
    except MithrilError as e:
        try:
            load_config(root)
        except MithrilError:
            return None, f"configuration unusable: {e}"  # not the arguments' fault
        raise
    config.root = os.path.abspath(config.root)
    return config, None


def init(
    root: Optional[PathArg] = None, max_size: Optional[SizeArg] = None, explain: bool = False, **settings: Setting
) -> CacheManager:
    """Points PyTorch Inductor and Triton at the managed root. Call it before
    the first torch.compile. Runs the same session as ``mithril run``: a
    variable the user already set is respected (with a warning) and that
    framework is then not managed. With a remote (``remote="s3://..."`` or
    MITHRIL_REMOTE), pulls now and pushes at exit (docs/remote.md).

    Fails open like ``mithril run``: a root that cannot be created, opened or
    written (a file in the way, no permission, a read-only mount, a root
    another user owns) or a bad MITHRIL_* value is a MithrilWarning and torch
    keeps its own defaults; init() does not raise for the root. A bad
    argument (an unknown setting, a malformed size) raises
    InvalidArgumentError, a wrong type TypeError.

    One session per process: a second init() with the same arguments returns
    the running manager silently; with other arguments it warns
    (MithrilWarning) and returns the running manager unchanged. Once the
    manager is closed (close(), the end of ``with mithril_cache.init(...) as
    m:``), init() starts a new session."""
    global _manager, _manager_args
    args = (_overrides(root, max_size, settings), bool(explain))
    if _manager is not None:
        if args != _manager_args:
            warnings.warn(
                "mithril: init() was already called with other arguments; keeping the running session",
                MithrilWarning,
                stacklevel=2,
            )
        return _manager
    config, problem = _session_config(root, max_size, settings)
    manager = CacheManager(config, problem)
    if manager.managed and config is not None and (explain or os.environ.get("MITHRIL_EXPLAIN") == "1"):
        from . import explain as _explain

        _explain.install(config.root)  # for `mithril explain --torch`
    _manager, _manager_args = manager, args
    return manager


def stats(root: Optional[PathArg] = None) -> StatsReport:
    """Counters and sizes of a root (default: the configured one)."""
    return open_cache(root).stats()

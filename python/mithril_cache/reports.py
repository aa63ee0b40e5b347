"""The reports mithril returns, as typed dictionaries.

Every report the C++ core returns (python/bindings/module.cc) is a plain
``dict`` at run time; these ``TypedDict`` classes name its keys and their
types for type checkers and readers. tests/python/test_reports.py checks
that the keys the bindings return equal the keys declared here, so the two
cannot drift. Sizes are bytes, times as the key says (``_ns``, ``seconds``).
"""

from __future__ import annotations

from typing import Dict, List, Optional, TypedDict

__all__ = [
    "BundleReport",
    "Counters",
    "FinishResult",
    "FrameworkKindStats",
    "FrameworkReport",
    "GcReport",
    "LastRun",
    "PrepareResult",
    "StatsReport",
    "SyncReport",
    "TopEntry",
    "VerifyReport",
]


class Counters(TypedDict):
    """The counters of a root, shared by every process (``mithril stats``)."""

    hits: int  # lookups of the keyed store that returned a verified entry
    misses: int  # lookups that found nothing usable
    puts: int  # entries stored
    evictions: int  # entries evicted by the size budget
    bytes_in: int  # uncompressed bytes offered to put
    bytes_out: int  # uncompressed bytes returned by hits
    corruptions: int  # objects that failed verification and were quarantined
    errors: int  # operations that failed with an error (not misses)
    evicted_bytes: int  # stored bytes freed by eviction
    dedup_objects: int  # objects a put did not write because they were stored already
    framework_hits: int  # framework entries a run read (torch/Triton cache hits)
    framework_new_entries: int  # framework entries a run created (compiled: misses)
    remote_pulled: int  # framework entries downloaded from a remote
    remote_pushed: int  # framework entries uploaded to a remote
    remote_errors: int  # remote operations that failed
    remote_timeouts: int  # remote operations that ran out of time
    remote_rejected: int  # remote entries refused: digest, size, path or signature wrong
    remote_bytes_in: int  # wire bytes received from remotes
    remote_bytes_out: int  # wire bytes sent to remotes
    compile_ms_saved: int  # estimated compile time the framework hits saved
    compile_ms_spent: int  # estimated compile time spent producing new framework entries


class FrameworkKindStats(TypedDict):
    """The framework entries of one kind (``"inductor-fxgraph"``, ``"triton-kernel"``, ...)."""

    entries: int
    bytes: int
    hits: int  # hits of the current entries
    compile_ms_saved: int  # compile time the hits saved (estimated)
    evictions: int  # entries of this kind evicted so far
    evicted_bytes: int
    quarantined: int  # entries of this kind set aside as damaged
    compiled: int  # entries of this kind a run created (misses)


class LastRun(TypedDict):
    """The latest run that read or compiled framework entries (``stats()["last_run"]``)."""

    time: str  # ISO 8601, UTC
    framework_hits: int
    framework_compiled: int
    framework_hit_rate: float
    compile_ms_saved: int


class TopEntry(TypedDict):
    """One of the largest framework entries (``stats()["top_entries"]``)."""

    name: str
    kind: str
    size: int
    hits: int
    compile_ms: int


class StatsReport(TypedDict):
    """``Cache.stats()`` / ``mithril_cache.stats()``: sizes and counters of a
    root; the document ``mithril stats --json`` prints (docs/cli.md)."""

    schema_version: int
    root: str
    entries: int  # entries of the keyed store
    objects: int
    stored_bytes: int  # bytes of all objects on disk
    logical_bytes: int  # their uncompressed bytes
    framework_entries: int
    framework_bytes: int  # bytes of the tracked framework files
    total_bytes: int  # stored_bytes + framework_bytes: what max_size bounds
    max_size: int
    index_bytes: int  # size of the index database files
    quarantined_files: int  # files in quarantine/
    hit_rate: float  # the keyed store's hits / lookups
    framework_hit_rate: float  # framework entries read / (read + compiled)
    last_run: Optional[LastRun]  # None before the first run
    counters: Counters
    frameworks: Dict[str, FrameworkKindStats]  # by kind
    top_entries: List[TopEntry]  # the 5 largest framework entries


class GcReport(TypedDict):
    """``Cache.gc()`` / ``CacheManager.gc()``."""

    evicted_entries: int
    evicted_bytes: int
    size_before: int  # stored bytes before
    size_after: int  # stored bytes after
    temp_files_removed: int  # stale staging files removed


class VerifyReport(TypedDict):
    """``Cache.verify()``: every object and recorded framework file checked."""

    objects_checked: int
    corrupt: int  # quarantined
    missing: int  # in the index, not on disk
    entries_dropped: int  # entries that held a corrupt or missing object
    orphans: int  # on disk, not in the index
    orphans_removed: int  # with repair
    index_rebuilt: bool  # with repair, when SQLite reported damage
    framework_files_checked: int
    framework_corrupt: int  # entries with a file that differs from its record
    framework_missing: int  # entries with a recorded file gone
    framework_entries_quarantined: int  # moved aside: the framework recompiles them


class FrameworkReport(TypedDict):
    """A check or sync of the framework caches of a partition (``init()``'s
    ``check_report``, ``CacheManager.close()``, ``Cache.check_frameworks()``,
    ``Cache.sync_frameworks()``)."""

    entries: int  # tracked framework entries afterwards
    new_entries: int
    updated_entries: int
    removed_entries: int  # vanished from disk
    accessed_entries: int  # opened during the run
    files_hashed: int
    quarantined_entries: int  # altered, truncated or incomplete
    quarantined_files: int
    skipped_busy: int  # a framework process held the entry's lock
    compile_ns_new: int  # estimated compile time of the new entries
    compile_ns_saved: int  # recorded compile time of the entries reused (hits)


class BundleReport(TypedDict):
    """``Cache.pack_frameworks()`` / ``Cache.unpack_frameworks()``."""

    partition: str
    files: int  # files written (pack) or extracted (unpack)
    bytes: int  # their uncompressed bytes
    skipped_existing: int  # (unpack) already present locally, kept


class SyncReport(TypedDict):
    """``Cache.push()`` / ``Cache.pull()`` and ``init(remote=...)``'s ``pull_report`` (docs/remote.md)."""

    entries_local: int  # entries of the partition in the local root
    entries_remote: int  # entries of the partition in the remote
    entries_transferred: int  # pushed or pulled
    entries_present: int  # already on the other side, skipped
    objects_transferred: int  # file objects uploaded / downloaded
    objects_deduplicated: int  # (push) already in the remote
    wire_bytes: int  # compressed bytes sent / received
    logical_bytes: int  # their uncompressed size
    errors: int  # remote operations that failed
    timeouts: int  # remote operations that timed out
    rejected: int  # (pull) entries refused: bad digest, path, size, signature
    skipped: int  # entries left undone: deadline or remote gave up
    remote_gave_up: bool  # stopped early after a timeout or an unreachable remote
    first_problem: str  # the first error or rejection, for the user ("" when none)
    seconds: float


class PrepareResult(TypedDict):
    """``RunSession.prepare()``: what the session set up before the job."""

    env: Dict[str, str]  # variable -> managed directory, to set in os.environ
    check: Optional[FrameworkReport]  # None when the check did not run
    pull: Optional[SyncReport]  # None without a remote or when the pull did not run
    warnings: List[str]


class FinishResult(TypedDict):
    """``RunSession.finish()``: what the session recorded and pushed."""

    synced: Optional[FrameworkReport]
    push: Optional[SyncReport]
    warnings: List[str]

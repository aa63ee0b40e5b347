"""A Triton cache manager with integrity and portable groups.

Use it with ``TRITON_CACHE_MANAGER=mithril_cache.triton:CacheManager`` (or
``triton.knobs.cache.manager_class = CacheManager``), together with
``mithril run`` / ``mithril_cache.init()``, which point ``TRITON_CACHE_DIR``
into the managed root and keep it within the size budget.

What it adds to Triton's ``FileCacheManager`` (whose atomic ``put`` it keeps):

* ``put_group`` commits a group only when every child file exists, and
  records each child's size and BLAKE3 digest and its path *relative* to the
  kernel directory;
* ``get_group`` returns the group only when every child is present with the
  recorded size and digest; otherwise the group file is moved aside and the
  lookup is a miss, so Triton recompiles instead of loading a torn kernel;
* groups written with absolute paths (by Triton itself, or on another
  machine/root) are rebased onto this directory, so a moved cache still hits.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Dict, Optional, TypedDict

from triton.runtime.cache import FileCacheManager

from . import _core

_GROUP_PREFIX = "__grp__"


class _Child(TypedDict):
    """A group member as recorded in the group file's "mithril" section."""

    path: str  # relative to the kernel directory
    size: int
    blake3: str


def _digest(path: str) -> str:
    with open(path, "rb") as fh:
        return _core.blake3_hex(fh.read())


class CacheManager(FileCacheManager):
    """Drop-in replacement for Triton's FileCacheManager (same constructor)."""

    def put_group(self, filename: str, group: Dict[str, str]) -> str:
        grp_path = self._make_path(_GROUP_PREFIX + filename)
        children: Dict[str, _Child] = {}
        for name, path in group.items():
            child = path if os.path.isabs(path) else self._make_path(path)
            if not os.path.isfile(child):
                # Never commit a group whose members are missing: readers would
                # otherwise load half a kernel. Not writing it is a clean miss.
                return grp_path
            children[name] = {
                "path": os.path.relpath(child, self.cache_dir),
                "size": os.path.getsize(child),
                "blake3": _digest(child),
            }
        contents = json.dumps(
            {
                "child_paths": {n: os.path.join(self.cache_dir, c["path"]) for n, c in children.items()},
                "mithril": {"version": 1, "children": children},
            }
        )
        return self.put(contents, _GROUP_PREFIX + filename, binary=False)

    def get_group(self, filename: str) -> Optional[Dict[str, str]]:
        grp_path = self._make_path(_GROUP_PREFIX + filename)
        try:
            with open(grp_path) as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            self._quarantine(grp_path)
            return None
        meta = data.get("mithril") if isinstance(data, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("children"), dict):
            return self._verified_children(grp_path, meta["children"])
        return self._rebased_children(data.get("child_paths") if isinstance(data, dict) else None)

    def _verified_children(self, grp_path: str, children: Dict[str, Any]) -> Optional[Dict[str, str]]:
        result = {}
        for name, info in children.items():
            rel = info.get("path", "") if isinstance(info, dict) else ""
            path = os.path.normpath(os.path.join(self.cache_dir, rel))
            inside = path.startswith(os.path.normpath(self.cache_dir) + os.sep)
            ok = (
                inside
                and os.path.isfile(path)
                and os.path.getsize(path) == info.get("size")
                and _digest(path) == info.get("blake3")
            )
            if not ok:
                self._quarantine(grp_path)
                return None
            result[name] = path
        return result

    def _rebased_children(self, child_paths: object) -> Optional[Dict[str, str]]:
        if not isinstance(child_paths, dict):
            return None
        result = {}
        for name, path in child_paths.items():
            if not isinstance(path, str):
                return None
            if not os.path.exists(path):
                # Written under another root (a moved or copied cache).
                path = self._make_path(os.path.basename(path))
                if not os.path.exists(path):
                    return None
            result[name] = path
        return result

    @staticmethod
    def _quarantine(path: str) -> None:
        with contextlib.suppress(OSError):
            os.replace(path, path + ".corrupt")

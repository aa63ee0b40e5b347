"""Type aliases of the public functions' arguments (see __init__.py)."""

from __future__ import annotations

import os
from typing import Union

PathArg = Union[str, "os.PathLike[str]"]
"""A directory: a str or a pathlib.Path."""

SizeArg = Union[int, str]
"""A size: bytes, or text such as "20G" (docs/cli.md)."""

Setting = Union[str, int, float, bool]
"""The value of a configuration key (docs/cli.md), given as a keyword argument."""

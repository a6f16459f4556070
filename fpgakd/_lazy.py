"""Lazy re-exports for the stage packages: ``fpgakd.learn.distill`` without importing TensorFlow
until it is called for.

Each stage package names its public functions and the module that defines them; the
module is imported on first attribute access (PEP 562), so ``import fpgakd.learn`` stays
as cheap as ``import fpgakd``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that imports ``exports[name]`` (a submodule) on demand.

    >>> __getattr__ = lazy_exports(__name__, {"distill": "distillation"})   # doctest: +SKIP
    """
    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{exports[name]}"), name)

    return __getattr__

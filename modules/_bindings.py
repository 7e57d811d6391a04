"""Fast loading of the prebuilt AWS provider bindings.

The bindings' root ``__init__`` eagerly imports all ~2,140 resource submodules (about 15 s of
Python work) although a stack uses a few dozen. Each submodule only needs the package's search
path and the jsii assembly in ``_jsii``, so we register a light stand-in for the root package
(same ``__path__``, same ``check_type`` helper, none of the ``from . import ...`` lines) before the
first provider import. If the installed layout is not the one this was written for, we fall back
to the plain import and say so. ``VP_AWS_BINDINGS=plain`` forces the plain import (used by the
identity test and the benchmark).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import warnings
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import TypeGuard

PACKAGE = "cdktf_cdktf_provider_aws"
_MARKERS = ("from ._jsii import *", "from . import vpc")

mode: str = "unloaded"  # "fast" or "plain" once installed


def _layout_ok(spec: ModuleSpec | None) -> TypeGuard[ModuleSpec]:
    if spec is None or spec.origin is None or not spec.submodule_search_locations:
        return False
    root = Path(spec.origin)
    if not (root.parent / "_jsii" / "__init__.py").is_file():
        return False
    source = root.read_text(encoding="utf-8")
    return all(marker in source for marker in _MARKERS)


def install() -> str:
    """Make ``cdktf_cdktf_provider_aws`` importable cheaply; returns "fast" or "plain"."""
    global mode
    if mode != "unloaded":
        return mode
    if PACKAGE in sys.modules or os.environ.get("VP_AWS_BINDINGS") == "plain":
        importlib.import_module(PACKAGE)
        mode = "plain"
        return mode
    spec = importlib.util.find_spec(PACKAGE)
    if not _layout_ok(spec):
        warnings.warn(f"{PACKAGE}: unexpected package layout, using the plain (slow) import", stacklevel=2)
        importlib.import_module(PACKAGE)
        mode = "plain"
        return mode
    stand_in = importlib.util.module_from_spec(spec)  # created, never executed
    sys.modules[PACKAGE] = stand_in
    try:
        jsii_module = importlib.import_module(f"{PACKAGE}._jsii")  # loads the assembly
    except Exception:
        del sys.modules[PACKAGE]
        raise
    # The real root re-exports `_jsii`'s names; submodules define their own type-check helpers.
    stand_in.__dict__["_jsii"] = jsii_module
    stand_in.__dict__.update({k: getattr(jsii_module, k) for k in getattr(jsii_module, "__all__", ())})
    mode = "fast"
    return mode

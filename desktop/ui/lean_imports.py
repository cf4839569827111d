"""What the counter's process never imports, or never keeps, though its libraries would.

Imported first by desktop.ui.app: these are start-up time and memory at the counter (issue 13;
bench/bench_start.py measures, tests/ui/test_startup_imports.py checks the extras are left out).
"""

from __future__ import annotations

import linecache
import sys

import PySide6.QtCore  # noqa: F401  (sets up the __feature__ check that is changed below)

# Two optional extras the counter never uses, each importing pygments' lexers: httpx's
# command-line tool (with click and rich; about 10 MiB and 50 ms, imported whenever click is
# installed, as uvicorn brings it) and the highlighting of Mako's error pages (Alembic's
# templates). A None in sys.modules makes that one import fail; both packages expect it to
# fail when pygments or click is absent and go on without it.
UNUSED_EXTRAS = ("httpx._main", "mako.ext.pygmentplugin")


def leave_out_unused_extras() -> None:
    for name in UNUSED_EXTRAS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def _uses_pyside(module: object) -> bool:
    """PySide6's own test, whether a module's source names PySide6, without keeping it."""
    spec = getattr(module, "__spec__", None)
    loader = getattr(spec, "loader", None)
    get_source = getattr(loader, "get_source", None)
    if get_source is None:
        return False
    try:
        source = get_source(getattr(spec, "name", ""))
    except Exception:  # PySide6's own test says no when the source cannot be read
        return False
    return bool(source) and "PySide6" in source


def _forget_module_sources() -> None:
    """PySide6 asks of every module imported after it whether its source names PySide6 (for
    `from __feature__ import …`), reading it with inspect.getsource, and linecache then keeps
    every source: about 25 MiB once the counter's modules are in (a bundle without sources
    never pays it). Ask the same question reading the source once, kept by nobody. If a later
    PySide6 no longer has that function, this does nothing."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = _uses_pyside  # type: ignore[attr-defined]
        linecache.clearcache()  # the sources read before


leave_out_unused_extras()
_forget_module_sources()

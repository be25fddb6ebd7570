"""Heavy libraries imported on first use, so that ``import symgrad`` stays fast: matplotlib and tqdm.

They are imported with :func:`importlib.import_module` inside these
functions, not at the top of the modules that use them: matplotlib alone
costs more to import than the rest of symgrad, and most uses (derive,
check, compile) never draw a plot or a progress bar. Python caches the
import, so each later call is a dictionary lookup.
"""
from __future__ import annotations

import importlib
import sys

__all__ = ["figure", "matplotlib", "pyplot", "tqdm_auto", "tqdm_text", "ipython_kernel"]


def figure():
    """matplotlib's ``Figure`` class on the non-interactive Agg canvas: for files, no GUI, no pyplot state.

    >>> fig = figure()
    >>> type(fig.canvas).__name__
    'FigureCanvasAgg'
    """
    agg = importlib.import_module("matplotlib.backends.backend_agg")
    return agg.FigureCanvasAgg(importlib.import_module("matplotlib.figure").Figure()).figure


def pyplot():
    """``matplotlib.pyplot``, for a plot the user will look at (inline in Jupyter, a window elsewhere)."""
    return importlib.import_module("matplotlib.pyplot")


def matplotlib():
    """``matplotlib`` itself (its ``rc_context``, its version)."""
    return importlib.import_module("matplotlib")


def tqdm_auto():
    """``tqdm.auto.tqdm``: a text bar with rate and time left on a terminal, a widget in Jupyter."""
    return importlib.import_module("tqdm.auto").tqdm


def tqdm_text():
    """``tqdm.std.tqdm``, the text bar: where the notebook widget cannot be shown (no ipywidgets)."""
    return importlib.import_module("tqdm.std").tqdm


def ipython_kernel() -> bool:
    """Whether this Python runs in a Jupyter kernel (IPython is only looked up, never imported).

    >>> ipython_kernel()
    False
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"

"""Load generated source as a Python function whose tracebacks show the generated lines (as lambdify does)."""
from __future__ import annotations

import builtins
import itertools
import linecache
import threading
import weakref

__all__ = ["load_function"]

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _forget(filename: str) -> None:
    # at interpreter exit linecache may already be gone
    if linecache is not None:
        linecache.cache.pop(filename, None)


def load_function(source: str, name: str, label: str, namespace: dict | None = None):
    """Execute ``source`` as a module of its own and return its function ``name``.

    The source is registered in :mod:`linecache` under a unique file name, so
    tracebacks and :func:`inspect.getsource` show the generated lines, and the
    entry is removed when the function is freed (``weakref.finalize``, as
    ``sympy.lambdify`` does). ``namespace`` holds globals the source reads
    without defining them (a matrix model's numba kernels).

    >>> import inspect
    >>> f = load_function("def twice(a):\\n    return 2 * a\\n", "twice", "an example")
    >>> f(21), inspect.getsource(f).splitlines()[0]
    (42, 'def twice(a):')
    """
    with _counter_lock:
        number = next(_counter)
    filename = f"<symgrad compiled {label} #{number}>"
    code = builtins.compile(source, filename, "exec")
    # mtime None: linecache.checkcache keeps the entry, there being no file to compare with
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {**(namespace or {}), "__name__": f"symgrad_compiled_{number}"}
    exec(code, namespace)
    function = namespace[name]
    weakref.finalize(function, _forget, filename)
    return function

"""The helper functions every generated module carries, as source text: argument checks, logsumexp, the op table's."""
from collections.abc import Mapping

from ..core.ops import helper_sources

__all__ = ["HELPER_SOURCE"]

# source of each helper of the scalar code generator; the element-wise functions' helpers (sigmoid, gelu, ...)
# are their entries' NumPy forwards in the op table
_OWN = {
    "_batch": """
_FLOAT = np.dtype(float)
_NDARRAY = np.ndarray  # a global, not an attribute looked up on np at every call: _floats runs on every call


class ForeignArray(TypeError):
    \"\"\"A data array of another library (Dask, an array-API namespace): this NumPy code does not take it.\"\"\"


def _floats(first, *rest):
    \"\"\"The number of samples when the data are float64 NumPy vectors of one length (nothing to check), else 0.\"\"\"
    if type(first) is not _NDARRAY or first.dtype is not _FLOAT or first.ndim != 1:
        return 0
    n = len(first)
    for array in rest:
        if type(array) is not _NDARRAY or array.dtype is not _FLOAT or array.ndim != 1 or len(array) != n:
            return 0
    return n


def _batch(data):
    \"\"\"The data as float arrays of one length (scalars are broadcast), and that length.\"\"\"
    arrays, n, first = [], None, None
    for name, value in data.items():
        if not isinstance(value, (np.ndarray, np.generic, float, int, list, tuple)) and (
                hasattr(value, "__dask_graph__") or hasattr(value, "__array_namespace__")):
            raise ForeignArray(f"data {name} is a {type(value).__module__}.{type(value).__name__}: this code "
                               "computes on NumPy arrays (symgrad.compile's function also takes Dask and "
                               "array-API arrays)")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"data {name} must be real numbers, not {_describe(value)}")
        array = array.astype(float, copy=False)
        if array.ndim == 1:
            if n is None:
                n, first = len(array), name
            elif len(array) != n:
                raise ValueError(f"data {name} has {len(array)} samples but {first} has {n}")
        elif array.ndim > 1:
            raise ValueError(f"data {name} must be a 1-D array (one value per sample), "
                             f"not an array of shape {array.shape}")
        arrays.append(array)
    if n == 0:
        raise ValueError(f"data {first} is empty: there are no samples")
    if n is None:
        return 1, [array.reshape(1) for array in arrays]
    return n, [array if array.ndim else np.broadcast_to(array, (n,)) for array in arrays]
""",
    "_scalars": """
def _scalars(values):
    \"\"\"The parameters as floats.\"\"\"
    out = []
    for name, value in values.items():
        if type(value) is not float:
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"parameter {name} must be a real number, not {_describe(value)}")
            if array.ndim != 0:
                raise ValueError(f"parameter {name} must be a scalar, "
                                 f"not an array of shape {array.shape}")
            value = float(array)
        out.append(value)
    return out
""",
    "_ones": """
_ONES = np.ones(0)


def _ones(n):
    \"\"\"n ones, read-only: a sum over a block is a dot product with them.\"\"\"
    global _ONES
    if len(_ONES) < n:  # grown to the largest block seen; the old array stays valid for whoever holds it
        ones = np.ones(n)
        ones.flags.writeable = False
        _ONES = ones
    return _ONES[:n]
""",
    "_buffers": """
import threading as _threading

_WORK = _threading.local()


def _buffers(size, count):
    \"\"\"count float arrays of size rows, kept for this thread's next call: np.empty for each buffer on every call
    cost as much as a small batch's arithmetic. A call never returns a buffer (its results are floats), and threads
    (Dask's, say) each have their own.\"\"\"
    kept = getattr(_WORK, "arrays", None)
    if kept is None or len(kept) != count or len(kept[0]) != size:
        kept = _WORK.arrays = [np.empty(size) for _ in range(count)]
    return kept
""",
    "_describe": """
def _describe(value):
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 40 else text[:37] + '...'}"
""",
    "logsumexp": """
def logsumexp(*z, out=None):
    \"\"\"log(e^z1 + ... + e^zn) as m + log1p(sum of e^(zi - m) over all but one largest zi), m = max zi.

    Shifting by m never overflows; log1p keeps the digits of a result near 0 (log(1 + 1e-17) is not 0).
    \"\"\"
    top = z[0]
    for zi in z[1:]:
        top = np.maximum(top, zi)
    shift = np.where(np.isfinite(top), top, 0.0)
    rest, skipped = 0.0, False
    for zi in z:
        largest = np.logical_and(np.equal(zi, top), np.logical_not(skipped))  # its term is e^0 = 1
        rest = rest + np.where(largest, 0.0, np.exp(zi - shift))
        skipped = np.logical_or(skipped, largest)
    return np.add(top, np.log1p(rest), out=out)
""",
}


class _HelperSource(Mapping):
    """Source of each helper by name, the op table's included (a live view: registered ops are in it)."""

    def _all(self) -> dict:
        return {**helper_sources(), **_OWN}

    def __getitem__(self, name: str) -> str:
        return self._all()[name]

    def __iter__(self):
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


#: source of each helper, by name; a generated module copies the ones its code calls
HELPER_SOURCE: Mapping = _HelperSource()

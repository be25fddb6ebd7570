"""One block's code: a model's steps as NumPy calls writing in place (``out=``) into a few reused buffers."""
from __future__ import annotations

import sympy as sp
from sympy import Add, Mul, S
from sympy.printing.str import sstr

from ..core.model import WIDE
from ..core.ops import op_for_function
from .names import Names
from .printer import NumPySourcePrinter, logsumexp
from .steps import Steps

__all__ = ["BLOCK_RANGE", "CACHE_BUDGET", "BlockEmitter", "assignment", "block_loop", "block_size",
           "target_list"]

#: bytes that the arrays of one block should fit in: the block size is chosen
#: so that the buffers and the data slices of a block stay in the CPU cache
CACHE_BUDGET = 4 * 2**20

#: smallest and largest block, in rows: small blocks cost Python overhead per
#: NumPy call, large ones fall out of the cache
BLOCK_RANGE = (2**12, 2**17)


# one-argument SymPy functions outside the op table (the table's have their NumPy call in their entry)
_UNARY = {sp.sign: "np.sign", sp.sin: "np.sin", sp.cos: "np.cos"}


class _Target:
    """An array being computed: the name it is referred to by, and the buffer it lives in."""

    def __init__(self, lines: list, name: str, buffer: str):
        self.lines, self.name, self.buffer, self.started = lines, name, buffer, False

    def call(self, function: str, *args: str) -> None:
        if self.started:
            self.lines.append(f"{function}({', '.join(args)}, out={self.name})")
            return
        text = f"{function}({', '.join(args)}, out={self.buffer})"
        self.lines.append(text if self.name == self.buffer else f"{self.name} = {text}")
        self.started = True

    def update(self, operator: str, arg: str) -> None:
        self.lines.append(f"{self.name} {operator}= {arg}")


def _text(expr) -> str:
    """``str(expr)``; a wide sum in its own order of terms (SymPy's sorting of them is quadratic in their number)."""
    return sstr(expr, order="none") if expr.is_Add and len(expr.args) > WIDE else str(expr)


def _negative(term) -> bool:
    return bool(term.as_coeff_Mul()[0].is_negative)


class BlockEmitter:
    """Writes a block's statements as in-place NumPy calls (``out=``) into a few reused buffers.

    No array is allocated inside the block loop: each statement's result
    takes a buffer that is free, and a buffer is freed after the last
    statement that reads its value. Per-sample values are the symbols in
    ``arrays``; every other symbol is a scalar.
    """

    def __init__(self, printer: NumPySourcePrinter, arrays: set, output: str = "L", names=None):
        self.printer, self.arrays, self.output = printer, arrays, output
        self.names = names or Names()
        self.lines: list[str] = []
        self.free: list[str] = []
        #: every buffer, in the order they were first needed
        self.buffers: list[str] = []
        self.needs_m = False
        #: the name of the block's vector of ones, once a reduction needs it (a sum is a dot product with it)
        self.ones: str | None = None

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        self.buffers.append(self.names.fresh(f"buf{len(self.buffers)}"))
        return self.buffers[-1]

    def is_array(self, expr) -> bool:
        return bool(expr.free_symbols & self.arrays)

    def scalar(self, expr) -> str:
        return self.printer.doprint(expr)

    # -- expressions --------------------------------------------------------------------------

    def operand(self, expr, temps: list) -> str:
        """``expr`` as an argument: a name, scalar code, a nested call or a temporary buffer."""
        if not self.is_array(expr):
            return self.scalar(expr)
        if expr.is_Symbol:
            return expr.name
        buffer = self.take()
        temps.append(buffer)
        mark = len(self.lines)
        self.compute(expr, _Target(self.lines, buffer, buffer), temps)
        if len(self.lines) == mark + 1:  # one call: write it in place of its result
            return self.lines.pop()
        return buffer

    def _consume(self, expr, temps: list, use) -> None:
        """``use(code)`` emits the one line that reads ``expr``; its temporaries are free after it."""
        mark = len(temps)
        use(self.operand(expr, temps))
        self.free += temps[mark:]
        del temps[mark:]

    def compute(self, expr, target: _Target, temps: list) -> None:
        """Emit the calls that leave the array ``expr`` in ``target``."""
        if expr.is_Symbol:
            target.call("np.positive", expr.name)
        elif expr.is_Add:
            self._add(expr, target, temps)
        elif expr.is_Mul:
            self._mul(expr, target, temps)
        elif expr.is_Pow:
            self._pow(expr, target, temps)
        elif isinstance(expr, (sp.Max, sp.Min)):
            function = "np.maximum" if isinstance(expr, sp.Max) else "np.minimum"
            args = sorted(expr.args, key=lambda a: not self.is_array(a) or a.is_Symbol)
            self._unary(function, args[0], target, temps, self.operand(args[1], temps))
            for arg in args[2:]:
                self._consume(arg, temps, lambda code: target.call(function, target.name, code))
        else:
            self._function(expr, target, temps)

    def _unary(self, function: str, arg, target: _Target, temps: list, *extra: str) -> None:
        if self.is_array(arg) and not arg.is_Symbol:  # compute the argument in place first
            self.compute(arg, target, temps)
            target.call(function, target.name, *extra)
        else:
            target.call(function, self.operand(arg, temps), *extra)

    def _function(self, expr, target: _Target, temps: list) -> None:
        func, arg = type(expr), expr.args[0] if expr.args else None
        entry = op_for_function(func)
        if entry is not None and entry.numpy and entry.arity == 1:  # exp, sigmoid, softplus, gelu, ...
            self.printer.helpers.update(name for name, _ in entry.helpers)
            self._unary(entry.numpy, arg, target, temps, *entry.numpy_args)
        elif func in _UNARY:
            self._unary(_UNARY[func], arg, target, temps)
        elif func is sp.Heaviside:
            at_zero = expr.args[1] if len(expr.args) > 1 else S.Half
            self._unary("np.heaviside", arg, target, temps, repr(float(at_zero)))
        elif func is logsumexp:
            self.printer.helpers.add("logsumexp")
            target.call("logsumexp", *[self.operand(a, temps) for a in expr.args])
        else:  # anything else SymPy's printer knows, computed by NumPy and copied in
            target.call("np.positive", self.scalar(expr))

    def _pow(self, expr, target: _Target, temps: list) -> None:
        base, exponent = expr.as_base_exp()
        if not self.is_array(base):
            target.call("np.power", self.scalar(base), self.operand(exponent, temps))
        elif exponent == 2:
            self._unary("np.square", base, target, temps)
        elif exponent == S.Half:
            self._unary("np.sqrt", base, target, temps)
        elif exponent == -1:
            if base.is_Symbol:
                target.call("np.divide", "1.0", base.name)
            else:
                self.compute(base, target, temps)
                target.call("np.divide", "1.0", target.name)
        else:
            self._unary("np.power", base, target, temps, self.operand(exponent, temps))

    def _mul(self, expr, target: _Target, temps: list) -> None:
        coefficient, factors = expr.as_coeff_mul()
        arrays = [f for f in factors if self.is_array(f)]
        scale = coefficient * Mul(*[f for f in factors if not self.is_array(f)])
        numerator = [f for f in arrays if not (f.is_Pow and f.exp.is_negative)]
        denominator = [f.base ** -f.exp for f in arrays if f.is_Pow and f.exp.is_negative]
        # a compound factor first: it is computed straight into the target, without a temporary
        numerator.sort(key=lambda f: f.is_Symbol)
        rest = numerator[1:]
        if not numerator:
            target.call("np.divide", self.scalar(scale), self.operand(denominator.pop(0), temps))
            scale = S.One
        elif not numerator[0].is_Symbol:
            self.compute(numerator[0], target, temps)
        elif rest:
            target.call("np.multiply", numerator[0].name, self.operand(rest.pop(0), temps))
        elif scale == -1:
            target.call("np.negative", numerator[0].name)
            scale = S.One
        else:
            target.call("np.multiply", numerator[0].name, self.scalar(scale))
            scale = S.One
        for factor in rest:
            self._consume(factor, temps, lambda code: target.update("*", code))
        for factor in denominator:
            self._consume(factor, temps, lambda code: target.update("/", code))
        if scale == -1:
            target.call("np.negative", target.name)
        elif scale != 1:
            target.update("*", self.scalar(scale))

    def _add(self, expr, target: _Target, temps: list) -> None:
        arrays = [t for t in expr.args if self.is_array(t)]
        constant = Add(*[t for t in expr.args if not self.is_array(t)])
        # added terms before subtracted ones, compound terms (computed in place) before symbols
        arrays.sort(key=lambda t: (_negative(t), t.is_Symbol))
        first, rest = arrays[0], arrays[1:]
        if _negative(first) and constant != 0:  # c - u: computed as np.subtract(c, u)
            if (-first).is_Symbol:
                target.call("np.subtract", self.scalar(constant), (-first).name)
            else:
                self.compute(-first, target, temps)
                target.call("np.subtract", self.scalar(constant), target.name)
            constant = S.Zero
        elif not first.is_Symbol or _negative(first):
            self.compute(first, target, temps)
        elif rest:
            second = rest.pop(0)
            if _negative(second):
                target.call("np.subtract", first.name, self.operand(-second, temps))
            else:
                target.call("np.add", first.name, self.operand(second, temps))
        elif constant != 0:
            target.call("np.add", first.name, self.scalar(constant))
            constant = S.Zero
        else:
            target.call("np.positive", first.name)
        for term in rest:
            if _negative(term):
                self._consume(-term, temps, lambda code: target.update("-", code))
            else:
                self._consume(term, temps, lambda code: target.update("+", code))
        if constant != 0:
            if _negative(constant):
                target.update("-", self.scalar(-constant))
            else:
                target.update("+", self.scalar(constant))

    def reduce(self, expr, temps: list) -> str:
        """Code for the sum over the block's samples of a per-sample expression.

        A product of two per-sample factors is a dot product (``a.dot(b)``:
        BLAS, and called faster than ``a @ b`` is), ``t**2`` is ``t.dot(t)``
        and a single factor ``t`` is ``t.dot(ones)``; scalar factors are
        applied to the sum; a per-sample constant counts ``m`` (the block's
        length) times.
        """
        if expr.is_Add:
            return " + ".join(self.reduce(term, temps) for term in expr.args)
        coefficient, factors = expr.as_coeff_mul()
        arrays = [f for f in factors if self.is_array(f)]
        scale = coefficient * Mul(*[f for f in factors if not self.is_array(f)])
        if not arrays:
            self.needs_m = True
            return "m" if scale == 1 else f"m*{self._wrap(scale)}"
        if len(arrays) == 1 and arrays[0].is_Pow and arrays[0].exp == 2:
            side = self.operand(arrays[0].base, temps)
            body = f"{side}.dot({side})"
        elif len(arrays) == 1:
            # a dot product with ones: BLAS adds 10^3 numbers in less time than ndarray.sum takes to be called
            self.ones = self.ones or self.names.fresh("ones")
            body = f"{self.operand(arrays[0], temps)}.dot({self.ones})"
        else:
            left = self.operand(Mul(*arrays[:-1]), temps)
            body = f"{left}.dot({self.operand(arrays[-1], temps)})"
        if scale == 1:
            return body
        return f"-{body}" if scale == -1 else f"{self._wrap(scale)}*{body}"

    def _wrap(self, expr) -> str:
        text = self.scalar(expr)
        return text if expr.is_Symbol or expr.is_Integer or expr.is_Float else f"({text})"

    # -- statements ----------------------------------------------------------------------------

    def emit(self, statements: list, marks=()) -> list[str]:
        """Lines for ``("assign", symbol, expr)`` and ``("reduce", accumulator, expr)`` statements.

        ``self.marks`` gets the line number where each statement listed in ``marks`` begins.
        """
        last_read = {}
        for index, (_, _, expr) in enumerate(statements):
            for symbol in expr.free_symbols:
                last_read[symbol] = index
        owner: dict = {}
        self.marks = []
        for index, (kind, name, expr) in enumerate(statements):
            if index in marks:
                self.marks.append(len(self.lines))
            temps: list[str] = []
            mark = len(self.lines)
            if kind == "reduce":
                self.lines.append(f"{name} += {self.reduce(expr, temps)}")
                comment = f"{self.output} = {_text(expr)}" if name == "loss" else None
            elif not self.is_array(expr):
                self.lines.append(f"{name} = {self.scalar(expr)}")
                self.arrays.discard(name)
                comment = None
            else:
                owner[name] = self.take()
                self.compute(expr, _Target(self.lines, str(name), owner[name]), temps)
                comment = f"{name} = {_text(expr)}"
            self.free += temps
            for symbol in [s for s in owner if last_read.get(s, -1) <= index]:
                self.free.append(owner.pop(symbol))
            self._comment(mark, comment)
        self.marks += [len(self.lines)] * (len(marks) - len(self.marks))
        return self.lines

    def _comment(self, mark: int, comment: str | None) -> None:
        if comment is None:
            return
        if len(self.lines) == mark + 1:
            self.lines[mark] += f"  # {comment}"
        elif comment.split(" = ", 1)[1] != comment.split(" = ", 1)[0]:
            self.lines.insert(mark, f"# {comment}")


def block_loop(steps: Steps, full: list[str], block: int | None) -> tuple[list[str], int]:
    """The loop over the blocks of rows, with its buffers, and the rows per block (``block``, or chosen here).

    ``full`` names the whole data arrays, one per data symbol of ``steps``.
    """
    emitter = BlockEmitter(steps.printer, steps.arrays, str(steps.output), steps.names)
    lines = emitter.emit(steps.forward + steps.backward, marks=[len(steps.forward)])
    split = emitter.marks[0]
    forward, backward = lines[:split], lines[split:]
    buffers = emitter.buffers
    read = set().union(*[e.free_symbols for _, _, e in steps.forward + steps.backward])
    if block is None:
        # data slices are read once or twice per block, buffers many times: count a quarter
        block = block_size(len(buffers) + len(read & set(steps.data)) // 4)
    data = [(s, whole) for s, whole in zip(steps.data, full) if s in read]
    # one block (n <= BLOCK, every small batch): the whole arrays and the buffers as they are, no slicing;
    # more than one: each block's rows, and the buffers cut to the last, shorter block
    loop = ["if size < n:  # more than one block: this block's rows",
            "    m = min(BLOCK, n - lo)"]
    if emitter.ones:
        buffers = buffers + [emitter.ones]
    if buffers:
        loop += ["    if m < size:  # the last, shorter block",
                 "        " + assignment(buffers, [f"{b}[:m]" for b in buffers])]
    if data:
        loop += ["    " + assignment([s for s, _ in data], [f"{whole}[lo:lo + m]" for _, whole in data])]
    loop += ["# forward"] + forward
    if backward:
        loop += ["# backward"] + backward
    lines = ["m = size = min(BLOCK, n)"]
    if emitter.buffers:
        lines += ["# every per-sample value of a block lives in one of these arrays",
                  f"{target_list(emitter.buffers)} = _buffers(size, {len(emitter.buffers)})"]
        steps.printer.helpers.add("_buffers")
    if emitter.ones:
        lines.append(f"{emitter.ones} = _ones(size)")
        steps.printer.helpers.add("_ones")
    if data:
        lines += [assignment([s for s, _ in data], [whole for _, whole in data])]
    lines.append("for lo in range(0, n, BLOCK):")
    return lines + ["    " + line for line in loop], block


def block_size(arrays: int) -> int:
    """Rows per block for a block with this many arrays: a power of two within :data:`BLOCK_RANGE`.

    >>> block_size(4), block_size(7), block_size(20), block_size(1000)
    (131072, 65536, 16384, 4096)
    """
    rows = CACHE_BUDGET // (8 * max(arrays, 1))
    low, high = BLOCK_RANGE
    return max(low, min(high, 1 << (rows.bit_length() - 1)))


def assignment(names, values) -> str:
    """One statement binding each name to its value: ``a, b = 1, 2`` or ``a = 1``.

    >>> assignment(["x", "y"], ["x_data", "y_data"]), assignment(["x"], ["x_data"])
    ('x, y = x_data, y_data', 'x = x_data')
    """
    return f"{', '.join(map(str, names))} = {', '.join(values)}"


def target_list(names) -> str:
    """Assignment targets for a list of names: ``a, b`` or ``(a,)``.

    >>> target_list(["buf0", "buf1"]), target_list(["buf0"])
    ('buf0, buf1', '(buf0,)')
    """
    return ", ".join(names) if len(names) > 1 else f"({names[0]},)"

"""Compiled loss and gradients of a matrix model on a batch: NumPy source generated from the layer rules.

The source is the backward pass of :func:`symgrad.matrix.backprop` written
in NumPy, one statement per stage and per delta, as a person writes
backprop by hand: the forward pass keeps each layer's activation and the
backward pass reuses it (``σ'(Z1)`` is ``H1*(1 - H1)``); an activation
overwrites its pre-activation when nothing else needs it; softmax and
cross-entropy share one log-sum-exp; the input's own gradient, which no
parameter needs, is never computed.
"""
from __future__ import annotations

import builtins
import keyword
import re
import textwrap
from collections.abc import Mapping

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, MatrixSymbol, OneMatrix, Symbol, Transpose

from ..errors import CompileError
from .loader import load_function
from .matrix_fused import ARGUMENTS, KernelSet
from .names import ascii_identifier, defined_names, safe_text
from .printer import NumPySourcePrinter
from ..core.ops import H, Z, derivative_forms, helper_sources, numpy_call, op
from ..core.expressions import BinaryCrossEntropy, CrossEntropy, Elementwise, HalfSquaredError, Softmax, SquaredNorm
from ..core.expressions import is_matrix
from ..layers import batched
from ..core.matrix_model import MatrixModel
from ..symbolic.matrix_rules import backprop
from ..core.shapes import as_given, shape_text
from ..errors import ShapeError

__all__ = ["compile_model", "CompiledModel", "HELPERS", "module_source"]


#: NumPy helpers of every generated module; the element-wise functions' helpers come from the op table
HELPERS = '''\
def log_softmax_(a):
    # log p = z - logsumexp(z), row by row, without overflow
    a -= a.max(axis=1, keepdims=True)
    a -= np.log(np.exp(a).sum(axis=1, keepdims=True))
    return a


def softmax(a):
    return np.exp(log_softmax_(np.array(a, dtype=float)))
'''


class _Printer(NumPySourcePrinter):
    """The NumPy printer of the derivative forms: ``H(h, 0)`` is the comparison ``(h > 0)``, a mask."""

    def _print_Heaviside(self, expr):
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.S.Half
        if at_zero in (0, 1):
            return f"({self._print(expr.args[0])} {'>' if at_zero == 0 else '>='} 0)"
        return super()._print_Heaviside(expr)


def _derivative_form(name: str, from_output: bool) -> sp.Expr | None:
    """f'(z) of an element-wise op, written with its output ``H`` (None when it cannot be) or its input ``Z``."""
    from_input, output = derivative_forms(name)
    return output if from_output else from_input


def _operand(form: sp.Expr) -> bool:
    """Whether printed code of ``form`` is an operand as it stands (a name, a call or a comparison)."""
    return form.is_Symbol or form.is_Function


def _derivative_code(name: str, printer: _Printer, h: str | None = None, z: str | None = None) -> str:
    """NumPy code of f'(z) for an element-wise op, read off its output ``h`` when given, else of ``z``."""
    form = _derivative_form(name, h is not None)
    placeholder, code = (H, h) if h is not None else (Z, z)
    return printer.doprint(form.xreplace({placeholder: Symbol(code)}))


def _split(expr: MatMul) -> tuple:
    """A product's scalar coefficient and its matrix factors."""
    coefficient, matrices = expr.as_coeff_mmul()
    return coefficient, list(matrices.args) if isinstance(matrices, MatMul) else [matrices]


def _is_broadcast(factors: list) -> bool:
    """Whether a product's factors are ``1·bᵀ``: a column ``b`` added to every row of a batch."""
    return (len(factors) == 2 and isinstance(factors[0], OneMatrix) and isinstance(factors[1], Transpose)
            and factors[1].arg.shape[1] == 1)


def _fresh(expr) -> bool:
    """Whether the code of ``expr`` makes a new array that a statement may then update in place."""
    if isinstance(expr, MatMul):
        coefficient, factors = _split(expr)
        if coefficient == 1 and len(factors) == 1:
            return _fresh(factors[0])
        return coefficient == 1 and len(factors) > 1 and not any(isinstance(f, OneMatrix) for f in factors)
    return isinstance(expr, (MatAdd, HadamardProduct))


class _Generator:
    def __init__(self, model: MatrixModel, kernels: KernelSet | None = None):
        self.model = model
        #: numba kernels for the element-wise steps around the matrix products (backend="fused"), or None
        self.kernels = kernels
        #: the column sums a delta kernel returned, by the delta's name: its bias gradient
        self.column_sums: dict[str, str] = {}
        #: the biases given to a kernel, which takes them as columns
        self.kernel_biases: list[str] = []
        self.derivation = backprop(model)
        self.printer = _Printer()
        # every symbol gets an ASCII identifier of its own (Python folds identifiers under NFKC, so a
        # fullwidth name is not safe as code); the original names appear only as data, via repr()
        taken = set(dir(builtins)) | {"np", "loss", "__debug__"} | set(keyword.kwlist) | set(helper_sources())
        taken |= set(re.findall(r"^def (\w+)", HELPERS + ARGUMENTS, re.M))
        self.ids: dict = {}
        for s in (*model.inputs, *model.params, *model.stage_symbols, *model.sizes,
                  *(d for d, _, _ in self.derivation.deltas)):
            name = ascii_identifier(str(s))
            # grad_<id>, log_<id> and sums_<id> are written for parameters, softmax stages and fused deltas:
            # they must stay free too
            while (name in taken or name.startswith(("grad_", "log_", "sums_", "_")) or f"grad_{name}" in taken
                   or f"log_{name}" in taken or f"sums_{name}" in taken):
                name = f"v_{name}" if name.startswith(("grad_", "log_", "sums_", "_")) else f"{name}_"
            taken |= {name, f"grad_{name}", f"log_{name}", f"sums_{name}"}
            self.ids[s] = name
        self.definitions = dict(model.stages)
        # the stage holding f(z) for each pre-activation z, so f'(z) can be read off the forward value
        self.activation = {e.arg: s for s, e in model.stages if isinstance(e, Elementwise) and e.order == 0}
        self.log_of: dict = {}
        # the logits z of each probability p = σ(z) that a binary cross-entropy reads: log σ(z) = -softplus(-z)
        self.logits = {p: self.definitions[p].arg for s, e in model.stages if isinstance(e, BinaryCrossEntropy)
                       for p in [e.args[1]] if isinstance(self.definitions.get(p), Elementwise)
                       and self.definitions[p].name == "sigmoid" and self.definitions[p].order == 0
                       and isinstance(self.definitions[p].arg, MatrixSymbol)}
        #: the table's helpers the generated code calls
        self.helpers: set[str] = set()
        self.lines: list[str] = []

    # -- expressions --------------------------------------------------------------------------

    def code(self, expr) -> str:
        if isinstance(expr, (MatrixSymbol, Symbol)):
            if expr not in self.ids:
                raise CompileError(f"{expr} is not an input, a parameter, a stage or a size of the model")
            return self.ids[expr]
        if isinstance(expr, sp.Number):
            return repr(float(expr)) if not expr.is_Integer else str(int(expr))
        if isinstance(expr, Transpose):
            return f"{self.atom(expr.arg)}.T"
        if isinstance(expr, MatMul):
            return self._product(expr)
        if isinstance(expr, (MatAdd, sp.Add)):
            # p - y, as written: positive terms first, a negated term subtracted
            terms = sorted(expr.args, key=lambda t: t.could_extract_minus_sign())
            text = self.code(terms[0])
            for term in terms[1:]:
                text += f" - {self.atom(-term)}" if term.could_extract_minus_sign() else f" + {self.code(term)}"
            return text
        if isinstance(expr, HadamardProduct):
            return " * ".join(self.atom(a) for a in expr.args)
        if isinstance(expr, HadamardPower):
            return f"1.0 / {self.atom(expr.base)}" if expr.exp == -1 else f"{self.atom(expr.base)} ** {self.code(expr.exp)}"
        if isinstance(expr, Elementwise):
            return self._elementwise(expr)
        if isinstance(expr, Softmax):
            if expr.axis != 1:
                raise CompileError("a compiled batch has its samples as rows: softmax must run along each row")
            return f"softmax({self.code(expr.arg)})"
        if isinstance(expr, sp.Mul):
            return " * ".join(self.atom(a) for a in expr.args)
        if isinstance(expr, sp.Pow):
            return f"{self.atom(expr.base)} ** {self.atom(expr.exp)}"
        if isinstance(expr, CrossEntropy):
            y, p = expr.args[:2]
            log_p = self.log_of.get(p) or f"np.log({self.code(p)})"
            return f"(-np.vdot({self.code(y)}, {log_p}) / {self.code(sp.sympify(expr.samples))})"
        if isinstance(expr, BinaryCrossEntropy):
            return self._binary_cross_entropy(expr)
        if isinstance(expr, HalfSquaredError):
            y, yhat = (self.code(a) for a in expr.args[:2])
            return f"(0.5 * np.sum(np.square({yhat} - {y})) / {self.code(sp.sympify(expr.samples))})"
        if isinstance(expr, SquaredNorm):
            w = self.code(expr.args[0])
            return f"np.vdot({w}, {w})"
        raise CompileError(f"cannot compile {expr} (a {type(expr).__name__})")

    def _binary_cross_entropy(self, expr: BinaryCrossEntropy) -> str:
        y, p = expr.args[:2]
        samples = self.code(sp.sympify(expr.samples))
        logits = self.logits.get(p)
        if logits is not None:
            # -[y log σ(z) + (1 - y) log(1 - σ(z))] = softplus(z) - y z, which never overflows
            z, y = self.ids[logits], self.code(y)
            return f"((np.sum(np.logaddexp(0.0, {z})) - np.vdot({y}, {z})) / {samples})"
        p, y = self.atom(p), self.atom(y)
        return f"(-(np.vdot({y}, np.log({p})) + np.vdot(1.0 - {y}, np.log1p(-{p}))) / {samples})"

    def atom(self, expr) -> str:
        text = self.code(expr)
        # an element-wise derivative is an operand only when its printed form is (1 - H1**2 is not): the
        # parentheses come from the form's structure, never from a template
        simple = isinstance(expr, (MatrixSymbol, Symbol, Transpose, Softmax)) or (
            isinstance(expr, Elementwise) and (expr.order == 0 or _operand(
                _derivative_form(expr.name, self._output_of(expr) is not None)))) or (
            isinstance(expr, sp.Number) and expr >= 0)
        return text if simple else f"({text})"

    def _product(self, expr: MatMul) -> str:
        coefficient, factors = _split(expr)
        # every array is 2-D, as declared: a k×1 column stays k×1 and never meets a flat array
        if _is_broadcast(factors):
            body = f"{self.atom(factors[1].arg)}.T"  # 1·bᵀ: NumPy broadcasts the row bᵀ over the rows
        elif len(factors) == 2 and isinstance(factors[1], OneMatrix) and factors[1].shape[1] == 1:
            if isinstance(factors[0], Transpose):
                # Dᵀ·1: the sum over the rows of D, as a column (a fused delta kernel has returned it)
                rows = self.atom(factors[0].arg)
                body = self.column_sums.get(rows) or f"{rows}.sum(axis=0, keepdims=True).T"
            else:
                body = f"{self.atom(factors[0])}.sum(axis=1, keepdims=True)"
        elif isinstance(factors[-1], OneMatrix) and not isinstance(factors[0], OneMatrix):
            # M·1 (k×m): each row's sum of M, broadcast along the row (the softmax rule's <G, P>)
            ones = [f for f in factors if isinstance(f, OneMatrix)]
            rest = factors[:len(factors) - len(ones)]
            if not all(isinstance(f, OneMatrix) for f in factors[len(rest):]):
                raise CompileError(f"cannot compile {expr}: ones in the middle of a product")
            scale = sp.Mul(*[f.shape[1] for f in ones[:-1]])
            body = f"{self.atom(rest[0] if len(rest) == 1 else MatMul(*rest))}.sum(axis=1, keepdims=True)"
            if scale != 1:
                body = f"{self.code(scale)} * {body}"
        elif any(isinstance(f, OneMatrix) for f in factors):
            raise CompileError(f"cannot compile {expr}: a compiled batch has its samples as rows")
        else:
            body = " @ ".join(self.atom(f) for f in factors)
        if coefficient == 1:
            return body
        numerator, denominator = coefficient.as_numer_denom()
        # a compound body gets parentheses, once: (YHAT - Y) / N, not ((YHAT - Y)) / N
        wrapped = body.startswith("(") and body.endswith(")") and body.count("(") == 1
        text = f"({body})" if " " in body and not wrapped else body
        if numerator != 1:
            text = f"{self.atom(numerator)} * {text}"
        if denominator != 1:
            text = f"{text} / {self.atom(denominator)}"
        return text

    def _elementwise(self, expr: Elementwise) -> str:
        entry = op(expr.name)
        if expr.order == 0:
            self.helpers.update(name for name, _ in entry.helpers)
            return numpy_call(entry, self.code(expr.arg))
        output = self._output_of(expr)
        if output is not None:
            return _derivative_code(expr.name, self.printer, h=self.ids[output])
        return _derivative_code(expr.name, self.printer, z=self.atom(expr.arg))

    def _output_of(self, expr: Elementwise):
        """The stage holding f(z) when f'(z) can be read off it (``σ'(z1)`` from ``h1``), else None."""
        output = self.activation.get(expr.arg)
        if output is None or self.definitions[output].name != expr.name or derivative_forms(expr.name)[1] is None:
            return None
        return output

    # -- statements ---------------------------------------------------------------------------

    def assign(self, name: str, expr) -> None:
        """``name = expr``, computed in place where a first fresh array allows it."""
        if isinstance(expr, HadamardProduct) and _fresh(expr.args[0]) and self._delta_kernel(name, expr):
            return
        if isinstance(expr, HadamardProduct) and _fresh(expr.args[0]):
            self.assign(name, expr.args[0])
            for factor in expr.args[1:]:
                self.lines.append(f"{name} *= {self.code(factor)}")
            return
        if isinstance(expr, MatMul) and is_matrix(expr):
            coefficient, factors = _split(expr)
            matrices = factors[0] if len(factors) == 1 else MatMul(*factors)
            if coefficient != 1 and _fresh(matrices):
                self.assign(name, matrices)
                numerator, denominator = coefficient.as_numer_denom()
                if numerator != 1:
                    self.lines.append(f"{name} *= {self.code(numerator)}")
                if denominator != 1:
                    self.lines.append(f"{name} /= {self.code(denominator)}")
                return
        if isinstance(expr, MatAdd):
            terms = sorted(expr.args, key=lambda t: not _fresh(t))
            if _fresh(terms[0]):
                self.assign(name, terms[0])
                for term in terms[1:]:
                    if term.could_extract_minus_sign():
                        self.lines.append(f"{name} -= {self.code(-term)}")
                    else:
                        self.lines.append(f"{name} += {self.code(term)}")
                return
        self.lines.append(f"{name} = {self.code(expr)}")

    def _delta_kernel(self, name: str, expr: HadamardProduct) -> bool:
        """``Δ = (Δ'·W') ⊙ f'(Z)`` with f' read off the layer's output: one kernel call, when there is one."""
        if self.kernels is None or len(expr.args) != 2:
            return False
        factor = expr.args[1]
        if not (isinstance(factor, Elementwise) and factor.order == 1) or self._output_of(factor) is None:
            return False
        kernel = self.kernels.delta(factor.name)
        if kernel is None:
            return False
        self.assign(name, expr.args[0])
        sums = f"sums_{name}"
        self.lines.append(f"{sums} = {kernel}({name}, {self.ids[self._output_of(factor)]})"
                          f"  # {name} *= {self.code(factor)}, and its column sums")
        self.column_sums[name] = sums
        return True

    def _bias_kernel(self, stage, expr: Elementwise) -> bool:
        """``H = f(Z)`` right after ``Z += b.T``: both in one kernel call, when there is one."""
        scores = self.ids[expr.arg]
        match = re.fullmatch(rf"{re.escape(scores)} \+= (\w+)\.T", self.lines[-1]) if self.lines else None
        params = {self.ids[p] for p in self.model.params}
        if self.kernels is None or match is None or match.group(1) not in params:
            return False
        kernel = self.kernels.activation(expr.name)
        if kernel is None:
            return False
        self.lines[-1] = (f"{self.ids[stage]} = {kernel}({scores}, {match.group(1)})"
                          f"  # {scores} += {match.group(1)}.T; {self.ids[stage]} = {expr.name}({scores})")
        self.kernel_biases.append(match.group(1))
        return True

    def _used_elsewhere(self, stage, exclude) -> bool:
        """Whether ``stage`` is read anywhere but in ``exclude`` and in f'(stage) read off f(stage)."""
        places = [e for s, e in self.model.stages if s != exclude]
        places += [e for _, e, _ in self.derivation.deltas] + list(self.derivation.gradients.values())
        for place in places:
            stripped = place.replace(lambda e: isinstance(e, Elementwise) and e.order == 1 and e.arg == stage
                                     and derivative_forms(e.name)[1] is not None,
                                     lambda e: sp.ZeroMatrix(*e.shape))
            if stage in stripped.free_symbols:
                return True
        if stage in self.logits.values():  # a binary cross-entropy reads its logits
            return True
        return False

    def forward(self) -> None:
        for stage, expr in self.model.stages:
            name = self.ids[stage]
            if stage == self.model.output:
                self.lines.append(f"loss = float({self.code(expr)})")
            elif isinstance(expr, Elementwise) and expr.order == 0 \
                    and isinstance(expr.arg, MatrixSymbol) and expr.arg in self.definitions \
                    and not self._used_elsewhere(expr.arg, stage):
                # the activation overwrites its pre-activation, which nothing else reads
                if self._bias_kernel(stage, expr):
                    continue
                entry = op(expr.name)
                self.helpers.update(n for n, _ in entry.helpers)
                scores = self.ids[expr.arg]
                self.lines.append(f"{name} = {numpy_call(entry, scores, out=scores)}")
            elif isinstance(expr, Softmax) and isinstance(expr.arg, MatrixSymbol):
                if expr.axis != 1:
                    raise CompileError("a compiled batch has its samples as rows: softmax must run along each row")
                scores = self.ids[expr.arg]
                if self._used_elsewhere(expr.arg, stage):
                    scores = f"{scores}.copy()"
                log_name = f"log_{name}"
                self.lines.append(f"{log_name} = log_softmax_({scores})")
                self.lines.append(f"{name} = np.exp({log_name})")
                self.log_of[stage] = log_name
            else:
                self.assign(name, expr)

    def backward(self) -> None:
        pending = dict(self.derivation.gradients)
        done: set = set()

        def flush():
            # each gradient as soon as the deltas it reads are known, as backprop goes layer by layer
            for param, gradient in list(pending.items()):
                deltas = {d for d, _, _ in self.derivation.deltas} & gradient.free_symbols
                if deltas <= done:
                    self.assign(f"grad_{self.ids[param]}", gradient)
                    del pending[param]

        flush()
        for delta, definition, stage in self.derivation.deltas:
            self.assign(self.ids[delta], definition)
            done.add(delta)
            flush()

    def function(self, function_name: str) -> str:
        """The function's source; ``self.helpers`` and ``self.kernels`` then hold what it calls."""
        model = self.model
        names = [self.ids[s] for s in (*model.inputs, *model.params)]
        self.lines = []
        self.kernel_biases = []
        data = model.inputs[0]
        for size in model.sizes:
            self.lines.append(f"{self.ids[size]} = {self.ids[data]}.shape[0]")
        self.lines.append("# forward: each stage once")
        self.forward()
        self.lines.append("# backward: the deltas from the loss down, each layer's gradients as soon as they are known")
        self.backward()
        gradients = ", ".join(f"{str(p)!r}: grad_{self.ids[p]}" for p in model.params)
        self.lines.append(f"return loss, {{{gradients}}}")
        if self._calls_kernels():
            # converted here, not in the kernels: a kernel writes f(z) into Z, which an integer Z would truncate,
            # and reads its bias as a column, where the NumPy code's b.T takes a 1-D bias too
            self.lines[:0] = ["# the kernels' arguments: arrays of floats (_as_floats), each bias a column",
                              f"{', '.join(names)}{',' if len(names) == 1 else ''} = _as_floats({', '.join(names)})",
                              *(f"{b} = {b}.reshape(-1, 1)" for b in dict.fromkeys(self.kernel_biases))]
        body = "\n".join(f"    {line}" for line in self.lines)
        return f"def {function_name}({', '.join(names)}):\n{body}\n"

    def _calls_kernels(self) -> bool:
        return self.kernels is not None and bool(self.kernels.kernels)

    def source(self, function_name: str, standalone: bool = False) -> str:
        """The module of the function: its NumPy helpers and the function.

        A function calling numba kernels names them in a comment (symgrad.compile gives them to the module it
        loads); ``standalone`` writes them into the module instead, after the numba imports, for codegen.
        """
        function = self.function(function_name)
        label = safe_text(self.model.name or "a matrix model")
        sources = helper_sources()
        helpers = "".join(f"\n\n{sources[name].rstrip()}\n" for name in sorted(self.helpers | self.printer.helpers))
        if self._calls_kernels():
            helpers += f"\n{ARGUMENTS}"
            if standalone:
                return self._with_kernels(label, function_name, f"{HELPERS}{helpers}", function)
            helpers += ("\n\n# numba kernels (symgrad.compiler.matrix_fused), given to this module by symgrad.compile: "
                        f"{', '.join(self.kernels.names())}\n")
        header = f'"""Loss and gradients of {label}, generated by symgrad from its backward pass."""'
        return f"{header}\nimport numpy as np\n\n\n{HELPERS}{helpers}\n\n{function}"

    def _with_kernels(self, label: str, function_name: str, numpy_code: str, function: str) -> str:
        """codegen's fused module: the kernels' source (with the numba imports) before the NumPy code."""
        kernels = self.kernels.source(docstring=False)
        # the kernels' names start with an underscore, as no generated variable does; a NumPy helper of an op
        # registered under one of their names would still replace it (or be replaced) in the one module
        shared = defined_names(kernels) & (defined_names(numpy_code) | {function_name}) - {"np"}
        if shared:
            raise CompileError(f"{sorted(shared)[0]} names both a numba kernel's helper and a NumPy helper: "
                               "the module cannot hold both; use backend='numpy'")
        return f"{self._docstring(label, function_name)}\n{kernels}\n\n{numpy_code}\n\n{function}"

    def _docstring(self, label: str, function_name: str) -> str:
        """The docstring of codegen's fused module: what it needs, what its function takes and returns."""
        model = self.model
        # "\0" holds the space inside "W1 (4×3)" while the text is filled, so a line never breaks there
        arguments = ", ".join(f"{self.ids[s]}\0({safe_text(shape_text(model.shapes[s]))})"
                              for s in (*model.inputs, *model.params))
        one_hot = " (a classifier's Y in one-hot rows)" if model.spec.get("loss") == "cross_entropy" else ""
        paragraphs = [
            f"Loss and gradients of {label}, generated by symgrad from its backward pass, with numba kernels.",
            f"Needs NumPy and numba, not symgrad. ``loss, grads = {function_name}(...)`` takes what the NumPy "
            "module of ``symgrad codegen`` takes, by position or by name: arrays in their declared shapes, the "
            f"batch with the samples as rows{one_hot}, a bias as a column or a 1-D array: {arguments}. It "
            "returns the mean loss over the batch and the gradients by parameter name, in the declared shapes "
            "(a bias's as a column). Arrays keep their float type (float32 or float64, as NumPy combines them); "
            "other numbers become float64.",
            "Each layer's bias and activation, and each delta's product with f' and its column sums, are numba "
            "kernels around NumPy's matrix products; numba compiles them on the first call and caches the "
            "machine code next to this file (cache=True)."]
        text = "\n\n".join(textwrap.fill(p, 100, break_on_hyphens=False) for p in paragraphs)
        return f'"""{text.replace(chr(0), " ")}\n"""'


class CompiledModel:
    """A matrix model's loss and gradients on a batch as one NumPy function: ``loss, grads = f(X=..., ...)``.

    Data are batch matrices with samples as rows (``X``: samples ×
    features; ``Y``: samples × outputs, or integer class labels for a
    classifier); weights are matrices and biases 1-D arrays (or columns).
    The loss is the mean over the batch; ``grads`` maps each parameter's
    name to its gradient in the shape the parameter was given, as autodiff
    libraries return it: a bias given as a 1-D array gets a 1-D gradient,
    one given as a column a column, so ``b -= lr * grads['b']`` never
    broadcasts. ``source`` is the generated code, in which every array is
    2-D as declared (an N×1 column stays N×1); tracebacks show its lines.
    """

    def __init__(self, model: MatrixModel, source: str, function_name: str, kernels: dict | None = None,
                 compile_seconds: float = 0.0):
        self.model = model
        self.source = source
        #: ``"numpy"``, or ``"fused"`` when numba kernels do the element-wise steps around the matrix products
        self.backend = "fused" if kernels is not None else "numpy"
        #: seconds numba took to compile the kernels (or to load them from its disk cache)
        self.compile_seconds = compile_seconds
        self.inputs = tuple(str(s) for s in model.inputs)
        self.params = tuple(str(s) for s in model.params)
        self._shapes = {str(s): model.shapes[s] for s in (*model.inputs, *model.params)}
        self._function = load_function(source, function_name, model.name or 'matrix model', kernels)
        self._order = [*self.inputs, *self.params]
        self._classes = {name: shape[1] for name, shape in self._shapes.items() if name in self.inputs
                         and shape and model.spec.get("loss") == "cross_entropy" and name == self.inputs[1]}

    def _arguments(self, values: Mapping) -> list:
        values = {str(k): v for k, v in values.items()}
        for name, classes in self._classes.items():  # class labels become one-hot rows
            labels = values.get(name)
            if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
                if labels.size and (labels.min() < 0 or labels.max() >= classes):
                    raise ShapeError(f"{name} holds class labels from {labels.min()} to {labels.max()}, "
                                     f"but the model has classes 0 to {classes - 1}")
                one_hot = np.zeros((labels.size, classes))
                one_hot[np.arange(labels.size), labels] = 1.0
                values[name] = one_hot
        arrays, _ = self.model.bind(values, check_finite=False)  # 2-D, as declared
        return [arrays[n] for n in self._order]

    def __call__(self, values: Mapping | None = None, /, **named):
        given = {str(k): v for k, v in {**dict(values or {}), **named}.items()}
        loss, grads = self._function(*self._arguments(given))
        return loss, {name: as_given(g, given[name]) for name, g in grads.items()}

    def __repr__(self) -> str:
        return (f"<CompiledModel of {self.model.name or 'a matrix model'}: mean loss over a batch of "
                f"({', '.join(self.inputs)}), gradients for ({', '.join(self.params)})>")


def compile_model(model: MatrixModel, fused: bool = False) -> CompiledModel:
    """Compile a matrix model's loss and gradients for a batch (samples as rows) into NumPy code.

    A model for one sample (``x`` a column) is compiled as its batched twin
    (:func:`~symgrad.matrix.batched`): the same parameters, a batch ``X``.

    >>> from symgrad.matrix import softmax_classifier
    >>> f = compile_model(softmax_classifier(2, 2))
    >>> loss, grads = f(X=[[1.0, 1.0]], Y=[[1.0, 0.0]], W1=[[2.0, 1.0], [-1.0, 0.0]], b1=[0.0, 0.0])
    >>> round(loss, 4), grads['b1'].round(4)    # -log 0.98; p - y
    (0.0181, array([-0.018,  0.018]))
    >>> print(f.source.split('def loss_and_grad')[1])  # doctest: +ELLIPSIS
    (X, Y, W1, b1):
        N = X.shape[0]
        # forward: each stage once
        Z1 = X @ W1.T
        Z1 += b1.T
        log_P = log_softmax_(Z1)
        P = np.exp(log_P)
        loss = float((-np.vdot(Y, log_P) / N))
        # backward: ...
        delta1 = P - Y
        delta1 /= N
        grad_W1 = delta1.T @ X
        grad_b1 = delta1.sum(axis=0, keepdims=True).T
        return loss, {'W1': grad_W1, 'b1': grad_b1}
    """
    model = _prepared(model, "compile_model")
    generator = _Generator(model, KernelSet() if fused else None)
    source = generator.source("loss_and_grad")
    if not fused:
        return CompiledModel(model, source, "loss_and_grad")
    kernels, seconds = generator.kernels.load()
    return CompiledModel(model, source, "loss_and_grad", kernels, seconds)


def module_source(model: MatrixModel, fused: bool = False) -> str:
    """The standalone module :func:`symgrad.codegen` writes: the NumPy one, or with ``fused`` also the numba kernels.

    Its ``loss_and_grad`` is the function :func:`compile_model` compiles, and
    the fused module holds the kernels' source in place of the comment naming
    them; it needs numba, not symgrad.
    """
    generator = _Generator(_prepared(model, "codegen"), KernelSet() if fused else None)
    return generator.source("loss_and_grad", standalone=True)


def _prepared(model: MatrixModel, caller: str) -> MatrixModel:
    """The model as it compiles: a batch with the samples as rows, and a scalar loss."""
    if not isinstance(model, MatrixModel):
        raise TypeError(f"{caller} needs a MatrixModel, not {type(model).__name__}")
    if model.batch is None and "specs" in model.spec:
        model = batched(model)
    model.output  # a scalar loss is needed: this says so if there is none
    if model.batch is None:
        raise CompileError("compile a model whose data are a batch with samples as rows "
                           "(build it with batch=True)")
    return model

"""The generated module, which needs only NumPy: its source, and writing it to a file."""
from __future__ import annotations

from pathlib import Path

import sympy as sp
from sympy import Derivative, Indexed, IndexedBase
from sympy.core.function import AppliedUndef

from .._tools import write_file
from .._version import __version__
from ..core.model import Model, size_exceeds
from ..errors import CompileError
from .emit import BLOCK_RANGE, assignment, block_loop, target_list
from .helpers import HELPER_SOURCE
from .names import FUNCTION_NAME, safe_text
from .printer import Unprintable
from .steps import Steps

__all__ = ["REDUCTIONS", "argument_lines", "build", "codegen", "generate_source", "module_source", "resolve"]

#: how the per-sample losses of a batch are combined
REDUCTIONS = ("mean", "sum")


# -- what to compile -------------------------------------------------------------------------

def resolve(model_or_expr, wrt, inputs, reduction, block=None) -> tuple[Model, list]:
    """The model to compile and the parameters to differentiate by, checked: a CompileError names the problem."""
    if block is not None and (not isinstance(block, int) or block < 1):
        raise CompileError(f"block must be a positive number of rows or None, not {block!r}")
    if reduction not in REDUCTIONS:
        raise CompileError(f"unknown reduction {reduction!r} (must be one of {list(REDUCTIONS)})")
    if isinstance(model_or_expr, Model):
        if tuple(inputs):
            raise CompileError("inputs= is for a bare expression; a Model declares its own inputs")
        model = model_or_expr
    else:
        model = Model.coerce(model_or_expr, inputs=inputs)
    model.output  # one scalar output, or a ModelError saying how to get one
    if wrt is None:
        targets = list(model.params)
    else:
        items = [wrt] if isinstance(wrt, (str, sp.Basic)) else list(wrt)
        targets = []
        for item in items:
            symbol = model.symbol(item)
            if symbol not in model.params:
                role = "data (an input)" if symbol in model.inputs else "a stage"
                raise CompileError(f"cannot differentiate with respect to {item}: it is {role}; "
                                   f"compiled gradients are taken with respect to parameters "
                                   f"({', '.join(map(str, model.params))})")
            targets.append(symbol)
    _check_scalar(model)
    _check_distinct_names(model)
    return model, targets


def _check_distinct_names(model: Model) -> None:
    """Arguments are passed by name, so two symbols may not share one (``x`` and a positive ``x``)."""
    seen = {}
    for s in model.inputs + model.params:
        other = seen.setdefault(str(s), s)
        if other is not s:
            raise CompileError(f"two different symbols of the model are named {str(s)!r} "
                               f"(assumptions {other.assumptions0} and {s.assumptions0}); "
                               "compiled functions take their arguments by name: rename one")


def _check_scalar(model: Model) -> None:
    for symbol, expr in model.stages:
        _check_printable(symbol, expr)
        if expr.has(Indexed, IndexedBase, sp.Sum):
            raise CompileError(
                f"stage {symbol} = {expr} is written over a data set (Sum or indexed "
                "symbols); compile needs one sample's loss in scalar symbols, e.g. "
                "networks.perceptron(m) rather than perceptron(indexed=True)")
    for s in model.inputs + model.params:
        if isinstance(s, IndexedBase):
            raise CompileError(f"{s} is an IndexedBase; compile needs scalar symbols")


def _check_printable(symbol, expr) -> None:
    """Refuse, by name, the parts of a stage that have no NumPy form."""
    stage = f"stage {symbol} = {_formula_text(expr)}"
    if expr.has(sp.Product):
        raise CompileError(f"{stage}: products over an index (∏, Product) cannot be compiled; write the "
                           "factors out (w_1*w_2*w_3) or use a sum of logs (\\sum_i log(w_i))")
    derivative = next(iter(expr.atoms(Derivative, sp.Subs)), None)
    if derivative is not None:
        raise CompileError(f"{stage}: the derivative {_formula_text(derivative)} (a d/dw written inside the "
                           "loss) cannot be compiled; write it out (symgrad.grad or `symgrad derive` gives it)")
    function = next(iter(expr.atoms(AppliedUndef)), None)
    if function is not None:
        raise CompileError(f"{stage}: {function.func.__name__} is a function known only by its name, which "
                           "has no NumPy code; write it with known operations, or make it one with symgrad.op")


# -- building the source ----------------------------------------------------------------------

def build(model: Model, targets: list, reduction: str, block: int | None) -> tuple[Steps, str]:
    """The steps and the module source for a model; a part with no NumPy form is a CompileError naming it."""
    try:
        steps = Steps(model, targets)
        return steps, module_source(steps, reduction, block)
    except Unprintable as error:
        raise CompileError(f"cannot compile {_place(model, error.part)}: it has no NumPy form; write the "
                           "loss with the operations symgrad knows (symgrad.OPS)") from None


def _place(model: Model, part) -> str:
    """Where an unprintable part is: in a stage the user wrote, or else in a derivative taken for the gradient."""
    for symbol, expr in model.stages:
        if expr.has(part):
            return f"{_formula_text(part)} in stage {symbol}"
    if isinstance(part, Derivative):
        return "the gradient, which holds a derivative SymPy could not take"
    return f"the gradient, which holds {type(part).__name__}"  # d/dw Heaviside(w) is a DiracDelta


# -- the module's source ----------------------------------------------------------------------

def module_source(steps: Steps, reduction: str, block: int | None) -> str:
    """The source of the module computing a model's loss and gradients from its steps."""
    body, block = _function_body(steps, reduction, block)
    return _module(steps, reduction, block, body)


def argument_lines(steps: Steps, full: list[str]) -> list[str]:
    """The function's first lines: ``n`` and the data arrays as ``full`` names them, the parameters as floats.

    Float64 vectors of one length and float parameters (a training loop's, a
    benchmark's) are taken as they are, in a few identity tests; anything
    else goes through the full checks, which convert it or name what is wrong.
    """
    body = []
    if steps.data:
        given = [str(s) for s in steps.data]
        # the model's names are data, written with repr(); only the generated identifiers are code
        mapping = ", ".join(f"{str(steps.model.inputs[i])!r}: {s}" for i, s in enumerate(steps.data))
        body += [f"n = _floats({', '.join(given)})",
                 "if n:",
                 "    " + assignment(full, given),
                 "else:",
                 f"    n, ({', '.join(full)}{',' if len(full) == 1 else ''}) = _batch({{{mapping}}})"]
    mapping = ", ".join(f"{str(steps.model.params[i])!r}: {s}" for i, s in enumerate(steps.params))
    body += [f"if {' or '.join(f'type({p}) is not float' for p in steps.params)}:",
             f"    {target_list([str(p) for p in steps.params])} = _scalars({{{mapping}}})"]
    return body


def _function_body(steps: Steps, reduction: str, block: int | None) -> tuple[list[str], int | None]:
    looped = steps.output in steps.arrays
    body = []
    full = [steps.names.fresh(f"{s}_data") for s in steps.data] if looped else ["_"] * len(steps.data)
    body = argument_lines(steps, full) if steps.data else ["n = 1"] + argument_lines(steps, [])
    if steps.before:
        body.append("# stages without data, computed once")
        body += steps.before
    gradients = [steps.gradient_names[p] for p in steps.wrt]
    others = [a for a in dict.fromkeys(steps.accumulators) if a not in gradients]
    accumulators = (["loss"] if looped else []) + others + gradients
    body += [f"{name} = 0.0" for name in accumulators]
    if looped:
        loop, block = block_loop(steps, full, block)
        body += loop
    if steps.after:
        body.append("# backward through the stages without data")
        body += steps.after
    if looped:
        body.append("scale = 1/n" if reduction == "mean" else "scale = 1.0")
    else:
        body.append("scale = 1.0" if reduction == "mean" else "scale = float(n)")
    body.append("return float(loss*scale), {")
    body += [f"    {steps.user_name(p)!r}: float({steps.gradient_names[p]}*scale)," for p in steps.wrt]
    body.append("}")
    return body, block


#: formulas larger than this (in nodes) are not written into the docstring: printing is recursive
DOCSTRING_FORMULA_LIMIT = 400


def _formula_text(expr) -> str:
    if size_exceeds(expr, DOCSTRING_FORMULA_LIMIT):
        return f"(a formula of more than {DOCSTRING_FORMULA_LIMIT} operations)"
    return safe_text(expr)


def _module(steps: Steps, reduction: str, block: int | None, body: list[str]) -> str:

    model = steps.model
    # the model's own names and formulas go into the docstring only through safe_text: escaped, one line each
    label = safe_text(model.name or "a model")
    stages = "\n".join(f"    {safe_text(s)} = {_formula_text(e)}" for s, e in model.stages)
    names = [str(s) for s in steps.data + steps.params]
    call = ", ".join(f"{a}=..." for a in names)
    reduced = "mean" if reduction == "mean" else "sum"
    gradients = ", ".join(safe_text(steps.user_name(p)) for p in steps.wrt)
    helpers = ["_batch", "_scalars", "_describe"] + sorted(steps.printer.helpers)
    lines = [
        f'"""Loss and gradients of {label}, generated by symgrad {__version__}; needs only NumPy.',
        "",
        "The model, one stage a line:",
        "",
        stages,
        "",
        f"{FUNCTION_NAME}({call}) returns (loss, grads): the {reduced} of",
        f"{safe_text(model.output)} over the samples and its gradient with respect to {gradients},",
        "as floats. Data are 1-D arrays of one length (or scalars); parameters are scalars.",
        "A symbol whose name is not a plain ASCII identifier is passed by the keyword",
        "KEYWORDS gives it; results are keyed by the model's own names.",
        '"""',
        "import numpy as np",
        "",
        f"DATA = {tuple(str(s) for s in model.inputs)!r}",
        f"PARAMETERS = {tuple(str(s) for s in model.params)!r}",
        f"GRADIENTS = {tuple(steps.user_name(p) for p in steps.wrt)!r}",
        "#: the keyword argument of each data and parameter name",
        f"KEYWORDS = {dict((steps.user_name(s), str(s)) for s in steps.data + steps.params)!r}",
        f"REDUCTION = {reduction!r}",
        "#: rows per block: the arrays of a block stay in the CPU cache",
        f"BLOCK = {block or BLOCK_RANGE[1]}",
    ]
    for helper in helpers:
        lines += ["", HELPER_SOURCE[helper].strip("\n"), ""]
    lines += [
        "",
        f"def {FUNCTION_NAME}(*, {', '.join(names)}):",
        f'    """The {reduced} loss over the samples and its gradient; see the module docstring."""',
    ]
    lines += ["    " + line for line in body]
    return "\n".join(lines) + "\n"


# -- the public entry points ---------------------------------------------------------------

def generate_source(model_or_expr, wrt=None, inputs=(), reduction: str = "mean",
                    block: int | None = None) -> str:
    """The Python source of a standalone module computing a model's loss and gradients with NumPy.

    >>> from symgrad import losses, networks
    >>> source = generate_source(networks.linear(loss=losses.squared_error))
    >>> print(source[source.index("def loss_and_grad"):].rstrip())
    def loss_and_grad(*, x, y, b, w):
        \"\"\"The mean loss over the samples and its gradient; see the module docstring.\"\"\"
        n = _floats(x, y)
        if n:
            x_data, y_data = x, y
        else:
            n, (x_data, y_data) = _batch({'x': x, 'y': y})
        if type(b) is not float or type(w) is not float:
            b, w = _scalars({'b': b, 'w': w})
        loss = 0.0
        grad_b = 0.0
        grad_w = 0.0
        m = size = min(BLOCK, n)
        # every per-sample value of a block lives in one of these arrays
        buf0, buf1 = _buffers(size, 2)
        ones = _ones(size)
        x, y = x_data, y_data
        for lo in range(0, n, BLOCK):
            if size < n:  # more than one block: this block's rows
                m = min(BLOCK, n - lo)
                if m < size:  # the last, shorter block
                    buf0, buf1, ones = buf0[:m], buf1[:m], ones[:m]
                x, y = x_data[lo:lo + m], y_data[lo:lo + m]
            # forward
            # yhat = b + w*x
            yhat = np.multiply(x, w, out=buf0)
            yhat += b
            t1 = np.subtract(y, yhat, out=buf1)  # t1 = y - yhat
            loss += t1.dot(t1)  # L = t1**2
            # backward
            grad_b += -2*t1.dot(ones)
            grad_w += -2*t1.dot(x)
        scale = 1/n
        return float(loss*scale), {
            'b': float(grad_b*scale),
            'w': float(grad_w*scale),
        }
    """
    model, targets = resolve(model_or_expr, wrt, inputs, reduction, block)
    return build(model, targets, reduction, block)[1]


def codegen(model_or_expr, path, wrt=None, inputs=(), reduction: str = "mean") -> Path:
    """Write a standalone Python module (needing only NumPy) with ``loss_and_grad`` for the model.

    >>> import os, tempfile
    >>> from symgrad import networks, losses
    >>> path = os.path.join(tempfile.mkdtemp(), "linear_mse.py")
    >>> codegen(networks.linear(loss=losses.squared_error), path).name
    'linear_mse.py'
    >>> namespace = {}
    >>> from pathlib import Path
    >>> exec(Path(path).read_text(), namespace)
    >>> namespace["loss_and_grad"](x=[1.0, 2.0], y=[3.0, 5.0], w=2.0, b=1.0)
    (0.0, {'b': 0.0, 'w': 0.0})
    """
    return write_file(path, generate_source(model_or_expr, wrt=wrt, inputs=inputs,
                                                  reduction=reduction))

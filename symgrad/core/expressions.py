"""Matrix expressions of layers and losses: element-wise activations, softmax, cross-entropy, norms, and their printing.

SymPy's matrix expressions give ``W*x + b``, products, transposes and
Hadamard products; this module adds what a network needs on top, each with
``_entry`` (so a small concrete instance expands to its components with
``as_explicit()``), a text form as a person writes it (``σ'(z1)``,
``(W2ᵀ·δ2) ⊙ σ'(z1)``) and LaTeX.
"""
from __future__ import annotations

import sympy as sp
from sympy import HadamardProduct, Integer, MatMul, MatrixSymbol, OneMatrix, Transpose
from sympy.core.symbol import Str
from sympy.matrices.expressions import MatrixExpr

from .. import printing
from ..printing import latex, text  # matrix expressions print through the one printer family
from .ops import ELEMENTWISE, MATRIX_EXPRESSIONS, op
from .functions import relu, sigmoid, softplus
from .shapes import shape_text
from ..errors import ShapeError

__all__ = [
    "Elementwise", "Softmax", "Hadamard", "CrossEntropy", "BinaryCrossEntropy", "HalfSquaredError", "SquaredNorm",
    "TargetLoss",
    "ACTIVATIONS", "activation_name", "hadamard", "ones", "broadcast", "text", "latex",
    "is_matrix", "samples_of",
]

#: element-wise functions by name: their scalar SymPy function (a live view of the op table's entries)
ACTIVATIONS = ELEMENTWISE


def activation_name(function) -> str:
    """The name of an element-wise function given by name or as a SymPy function class.

    >>> activation_name(sp.tanh), activation_name("sigmoid")
    ('tanh', 'sigmoid')
    """
    if isinstance(function, str):
        if function not in ACTIVATIONS:
            raise ValueError(f"unknown element-wise function {function!r} (must be one of {sorted(ACTIVATIONS)})")
        return function
    name = next((n for n, f in ACTIVATIONS.items() if f is function), None)
    if name is None:
        raise ValueError(f"{function!r} has no element-wise matrix form (known: {sorted(ACTIVATIONS)})")
    return name


def is_matrix(expr) -> bool:
    """Whether an expression is matrix-valued (a SymPy matrix expression)."""
    return isinstance(expr, MatrixExpr)


def samples_of(shape, axis: int):
    """How many samples a matrix holds when its classes lie along ``axis`` (0: columns are samples)."""
    return shape[1 - axis]


class Elementwise(MatrixExpr):
    """A scalar function applied to every entry: ``σ(z)`` (``order=0``) or its derivative ``σ'(z)`` (``order=1``).

    >>> z = MatrixSymbol('z', 2, 1)
    >>> Elementwise('sigmoid', z)
    sigmoid(z)
    >>> Elementwise('sigmoid', z, 1).as_explicit()
    Matrix([
    [sigmoid(z[0, 0])*(1 - sigmoid(z[0, 0]))],
    [sigmoid(z[1, 0])*(1 - sigmoid(z[1, 0]))]])
    """

    def __new__(cls, name, arg, order=0):
        name = activation_name(name.name if isinstance(name, Str) else name)
        arg = sp.sympify(arg, strict=True)
        if not is_matrix(arg):
            raise TypeError(f"Elementwise needs a matrix expression, not {arg!r}")
        if int(order) not in (0, 1):
            raise ValueError(f"order must be 0 (the function) or 1 (its derivative), not {order!r}")
        return super().__new__(cls, Str(name), arg, Integer(order))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def arg(self):
        return self.args[1]

    @property
    def order(self) -> int:
        return int(self.args[2])

    @property
    def shape(self):
        return self.arg.shape

    def scalar(self, value):
        """This function (or its derivative) at one scalar ``value``."""
        function = ACTIVATIONS[self.name]
        if self.order == 0:
            return function(value)
        u = sp.Dummy("u", real=True)
        return sp.diff(function(u), u).xreplace({u: value})

    def _entry(self, i, j, **kwargs):
        return self.scalar(self.arg._entry(i, j, **kwargs))

    def _eval_transpose(self):
        return Elementwise(self.name, _transpose(self.arg), self.order)

    def _sympystr(self, printer):
        return f"{self.name}{chr(39) * self.order}({printer._print(self.arg)})"

    def _latex(self, printer):
        return rf"{op(self.name).latex_name}{chr(39) * self.order}\left({printer._print(self.arg)}\right)"

    def _symgrad_text(self, printer):
        return f"{op(self.name).name_text}{chr(39) * self.order}({printer._print(self.arg)})"


class Softmax(MatrixExpr):
    """The softmax of scores; ``axis`` is the class axis (0: each column is a sample, 1: each row is).

    >>> z = MatrixSymbol('z', 2, 1)
    >>> Softmax(z).as_explicit()
    Matrix([
    [exp(z[0, 0])/(exp(z[0, 0]) + exp(z[1, 0]))],
    [exp(z[1, 0])/(exp(z[0, 0]) + exp(z[1, 0]))]])
    """

    def __new__(cls, arg, axis=0):
        arg = sp.sympify(arg, strict=True)
        if not is_matrix(arg):
            raise TypeError(f"Softmax needs a matrix expression, not {arg!r}")
        if int(axis) not in (0, 1):
            raise ValueError(f"axis must be 0 or 1, not {axis!r}")
        return super().__new__(cls, arg, Integer(axis))

    @property
    def arg(self):
        return self.args[0]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self):
        return self.arg.shape

    def _entry(self, i, j, **kwargs):
        classes = self.shape[self.axis]
        own = self.arg._entry(i, j, **kwargs)
        if sp.sympify(classes).is_Integer and sp.sympify(i).is_Integer and sp.sympify(j).is_Integer:
            others = [self.arg._entry(k, j) if self.axis == 0 else self.arg._entry(i, k) for k in range(classes)]
            return sp.exp(own) / sp.Add(*[sp.exp(s) for s in others])
        # an entry inside a product, at a summation index: the sum over the classes stays a Sum
        k = sp.Dummy("k", integer=True)
        other = self.arg._entry(k, j) if self.axis == 0 else self.arg._entry(i, k)
        return sp.exp(own) / sp.Sum(sp.exp(other), (k, 0, classes - 1))

    def _eval_transpose(self):
        return Softmax(_transpose(self.arg), 1 - self.axis)

    def _sympystr(self, printer):
        return f"softmax({printer._print(self.arg)})"

    def _latex(self, printer):
        return rf"\operatorname{{softmax}}\left({printer._print(self.arg)}\right)"

    _symgrad_text = _sympystr


class Hadamard(HadamardProduct):
    """The element-wise product ``A ⊙ B``, printed as the slides write it.

    >>> a, b = MatrixSymbol('a', 2, 1), MatrixSymbol('b', 2, 1)
    >>> print(Hadamard(a, b))
    a ⊙ b
    """

    def _eval_transpose(self):
        return Hadamard(*[_transpose(a) for a in self.args])

    def _sympystr(self, printer):
        return " ⊙ ".join(printing.factor_text(printer, a) for a in self.args)


def hadamard(*factors):
    """The element-wise product of matrix expressions of one shape (a single factor is itself)."""
    return factors[0] if len(factors) == 1 else Hadamard(*factors)


def _transpose(expr):
    # distribute a transpose over products and sums, as a person does: (A B)ᵀ = Bᵀ Aᵀ
    return Transpose(expr).doit(deep=False)


def ones(rows, columns=1):
    """The all-ones matrix ``1`` (``rows x columns``), written ``1`` in formulas."""
    return OneMatrix(rows, columns)


def broadcast(bias, rows):
    """A column ``bias`` added to every row of a ``rows x n`` batch: ``1 bᵀ``."""
    return MatMul(OneMatrix(rows, 1), Transpose(bias))


# -- scalar losses of matrices --------------------------------------------------------------

class _MatrixScalar(sp.Expr):
    """A real number computed from matrices (a loss or a penalty)."""

    is_commutative = True
    is_real = True

    def explicit(self) -> sp.Expr:
        """The number written with the matrices' components (for concrete shapes)."""
        raise NotImplementedError


def _same_shape(what: str, target, prediction) -> None:
    if target.shape != prediction.shape:
        raise ShapeError(f"{what}: the target {target} is {shape_text(target.shape)} but the prediction "
                         f"{prediction} is {shape_text(prediction.shape)}; they must have one shape")


class TargetLoss(_MatrixScalar):
    """A loss of a target and a prediction of one shape, averaged over the samples along ``axis``."""

    #: how error messages name the loss
    _name = "the loss"
    #: its entry in the op table
    op_name = ""
    #: a loss of the data (printed before a penalty added to it)
    is_data_loss = True

    def __new__(cls, target, prediction, axis=0):
        target, prediction = sp.sympify(target, strict=True), sp.sympify(prediction, strict=True)
        if not (is_matrix(target) and is_matrix(prediction)):
            raise TypeError(f"{cls._name} takes a target matrix and a prediction matrix")
        _same_shape(cls._name, target, prediction)
        return super().__new__(cls, target, prediction, Integer(axis))

    @property
    def axis(self) -> int:
        return int(self.args[2])

    @property
    def samples(self):
        return samples_of(self.args[1].shape, self.axis)

    @staticmethod
    def total(targets, predictions) -> sp.Expr:
        """The loss summed over paired entries of the target and the prediction (before the mean)."""
        raise NotImplementedError

    def explicit(self):
        y, p = (a.as_explicit() for a in self.args[:2])
        return self.total(list(y), list(p)) / self.samples


class CrossEntropy(TargetLoss):
    """Cross-entropy ``-Σ y ⊙ log p``, averaged over the samples (``axis`` is the class axis).

    >>> y, p = MatrixSymbol('y', 2, 1), MatrixSymbol('p', 2, 1)
    >>> CrossEntropy(y, p).explicit()
    -log(p[0, 0])*y[0, 0] - log(p[1, 0])*y[1, 0]
    """

    _name = "cross-entropy"
    op_name = "cross_entropy"

    @staticmethod
    def total(targets, predictions):
        return -sp.Add(*[a * sp.log(b) for a, b in zip(targets, predictions)])

    def _sympystr(self, printer):
        return f"cross_entropy({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer):
        return rf"\operatorname{{CE}}\left({printer._print(self.args[0])}, {printer._print(self.args[1])}\right)"

    def _symgrad_text(self, printer):
        return f"CE({printer._print(self.args[0])}, {printer._print(self.args[1])})"


class BinaryCrossEntropy(TargetLoss):
    """Binary cross-entropy ``-Σ y ⊙ log p + (1 - y) ⊙ log(1 - p)`` of independent probabilities, averaged over the samples.

    >>> y, p = MatrixSymbol('y', 1, 1), MatrixSymbol('p', 1, 1)
    >>> BinaryCrossEntropy(y, p).explicit()
    -(1 - y[0, 0])*log(1 - p[0, 0]) - log(p[0, 0])*y[0, 0]
    """

    _name = "binary cross-entropy"
    op_name = "binary_cross_entropy"

    @staticmethod
    def total(targets, predictions):
        return -sp.Add(*[a * sp.log(b) + (1 - a) * sp.log(1 - b) for a, b in zip(targets, predictions)])

    def _sympystr(self, printer):
        return f"binary_cross_entropy({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer):
        return rf"\operatorname{{BCE}}\left({printer._print(self.args[0])}, {printer._print(self.args[1])}\right)"

    def _symgrad_text(self, printer):
        return f"BCE({printer._print(self.args[0])}, {printer._print(self.args[1])})"


class HalfSquaredError(TargetLoss):
    """Half the squared error ``½‖ŷ - y‖²``, averaged over the samples (``axis`` is the output axis).

    >>> y, yhat = MatrixSymbol('y', 2, 1), MatrixSymbol('yhat', 2, 1)
    >>> HalfSquaredError(y, yhat).explicit()
    (-y[0, 0] + yhat[0, 0])**2/2 + (-y[1, 0] + yhat[1, 0])**2/2
    """

    _name = "the squared error"
    op_name = "half_squared_error"

    @staticmethod
    def total(targets, predictions):
        return sp.Add(*[(b - a) ** 2 for a, b in zip(targets, predictions)]) / 2

    def _sympystr(self, printer):
        return f"half_squared_error({printer._print(self.args[0])}, {printer._print(self.args[1])})"

    def _latex(self, printer):
        y, yhat = (printer._print(a) for a in self.args[:2])
        return rf"\tfrac{{1}}{{2}}\left\lVert {yhat} - {y}\right\rVert^{{2}}"

    def _symgrad_text(self, printer):
        return f"½‖{printer._print(self.args[1])} - {printer._print(self.args[0])}‖²"


class SquaredNorm(_MatrixScalar):
    """The sum of the squares of a matrix's entries, ``‖W‖²`` (the L2 weight-decay penalty).

    >>> SquaredNorm(MatrixSymbol('W', 1, 2)).explicit()
    W[0, 0]**2 + W[0, 1]**2
    """

    def __new__(cls, matrix):
        matrix = sp.sympify(matrix, strict=True)
        if not is_matrix(matrix):
            raise TypeError(f"the squared norm takes a matrix, not {matrix!r}")
        return super().__new__(cls, matrix)

    def explicit(self):
        return sp.Add(*[a**2 for a in self.args[0].as_explicit()])

    def _sympystr(self, printer):
        return f"squared_norm({printer._print(self.args[0])})"

    def _latex(self, printer):
        return rf"\left\lVert {printer._print(self.args[0])}\right\rVert^{{2}}"

    def _symgrad_text(self, printer):
        return f"‖{printer._print(self.args[0])}‖²"


MATRIX_EXPRESSIONS.update({cls.__name__: cls for cls in (Elementwise, Softmax, CrossEntropy, BinaryCrossEntropy,
                                                         HalfSquaredError, SquaredNorm)})

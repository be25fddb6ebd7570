"""The lectures' worked examples as a catalog: where each comes from, its model, and what to derive."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sympy import IndexedBase, Max, Sum, symbols

from .. import losses, networks
from .. import layers as matrix
from ..core.matrix_model import MatrixModel
from ..core.model import Model

__all__ = ["Example", "EXAMPLES", "LECTURES", "LECTURE_FILES", "example", "model"]

#: each lecture by its course and title, as a reader names it
LECTURES = {
    "000": "CSCI 1470: optimizers, gradient descent, chain rule",
    "001": "CS 4644: gradient descent, neural networks",
    "002": "MATH80629: perceptrons, backpropagation",
    "003": "CS60010: linear regression, least squares",
    "004": "ICME: loss functions, computational graphs",
}

#: the file each lecture's text was read from (provenance, not for display)
LECTURE_FILES = {
    "000": "000_f991bdc97940edcf.txt",
    "001": "001_07a59be112b5fe28.txt",
    "002": "002_33988b191b7f8ffe.txt",
    "003": "003_f4019721389b4efd.txt",
    "004": "004_d0dd8e63ebee4832.txt",
}


@dataclass(frozen=True)
class Example:
    """One worked example of the lectures."""

    name: str
    lecture: str
    title: str
    build: Callable[[], Model | MatrixModel] = field(repr=False)
    #: parameters whose partials the slide derives (all parameters if empty)
    wrt: tuple[str, ...] = ()
    #: point at which the slide evaluates the graph numerically, if it does (arrays for a matrix model)
    values: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The lecture by course and title: ``CSCI 1470: optimizers, gradient descent, chain rule``."""
        return LECTURES[self.lecture]

    @property
    def model(self) -> Model | MatrixModel:
        return self.build()

    @property
    def matrix(self) -> bool:
        """Whether the example is a network of matrices (a :class:`~symgrad.matrix.MatrixModel`)."""
        return isinstance(self.model, MatrixModel)


def _mse_linear() -> Model:
    return networks.linear(loss=losses.squared_error)


def _smallest_perceptron() -> Model:
    w, x, y, L = symbols("w x y L")
    return Model([(L, losses.half_squared_error(y, w * x))], inputs=[x, y], name="perceptron")


def _linear_data_set() -> Model:
    return networks.perceptron(indexed=True, activation_function=None, loss=losses.squared_error)


def _sigmoid_perceptron() -> Model:
    return networks.perceptron(indexed=True, loss=losses.squared_error)


def _chain3() -> Model:
    return networks.chain(3, loss=losses.half_squared_error)


def _least_squares() -> Model:
    x, y = IndexedBase("x"), IndexedBase("y")
    i, m, t0, t1, L = symbols("i m theta0 theta1 L")
    return Model([(L, Sum((y[i] - t0 - t1 * x[i]) ** 2, (i, 1, m)))], inputs=[x, y])


def _graph_qzf() -> Model:
    x, y, r, q, z, f = symbols("x y r q z f")
    return Model([(q, x + y), (z, q + 1), (f, z * r)], inputs=[], params=[x, y, r])


def _max_gate() -> Model:
    w1, w2, x1, x2, x3, F = symbols("w1 w2 x1 x2 x3 F")
    return Model([(F, Max(w1 * x1 + w2 * x2, x3))], inputs=[x1, x2, x3])


def _fully_connected() -> Model:
    return networks.fully_connected(3, 2, loss=losses.squared_error)


# -- the matrix examples ------------------------------------------------------------------------

def _dense_3x3() -> MatrixModel:
    """Lecture 004's layer g(W x + b), with g the sigmoid of lecture 001's f(x, W) = σ(W x + b).

    The slide computes no loss; half the squared error to lecture 004's own
    three-class label y = (0, 1, 0) gives a scalar to differentiate. With the
    slide's numbers W x + b = (15, 24, 29): the sigmoid saturates and the
    gradients vanish (about 1e-7 and smaller), which the example shows.
    """
    return matrix.dense(3, 3, "sigmoid", loss="squared_error")


def _softmax_classifier() -> MatrixModel:
    return matrix.softmax_classifier(2, 2)


def _mlp() -> MatrixModel:
    return matrix.mlp([3, 4, 2], "sigmoid", output="softmax", loss="cross_entropy")


#: lecture 004's slide numbers: W, x, b of g(W x + b); the three-class label y = (0, 1, 0)
_DENSE_VALUES = {"x": (1.0, 3.0, 2.0), "W1": ((2.0, 4.0, 2.0), (1.0, 3.0, 7.0), (0.0, 7.0, 3.0)),
                 "b1": (-3.0, 0.0, 2.0), "y": (0.0, 1.0, 0.0)}
#: lecture 004's neural network #1 (the slide has no bias: b = 0) and its true label
_NETWORK_1_VALUES = {"x": (1.0, 1.0), "W1": ((2.0, 1.0), (-1.0, 0.0)), "b1": (0.0, 0.0), "y": (1.0, 0.0)}
#: the slides give no numbers for the [3, 4, 2] network: a fixed point with readable entries
_MLP_VALUES = {"x": (1.0, 0.5, -1.0), "y": (0.0, 1.0),
               "W1": ((0.5, -0.3, 0.8), (-0.6, 0.2, 0.1), (0.3, 0.7, -0.5), (-0.2, -0.4, 0.6)),
               "b1": (0.1, -0.1, 0.2, 0.0),
               "W2": ((0.4, -0.7, 0.5, 0.3), (-0.5, 0.6, -0.2, 0.8)), "b2": (0.0, 0.1)}


EXAMPLES: dict[str, Example] = {e.name: e for e in [
    Example("mse-linear", "000", "Gradient of the squared error of w·x + b (one sample)",
            _mse_linear, ("w", "b")),
    Example("linear-data-set", "001", "Update rule of the linear model over a data set",
            _linear_data_set),
    Example("sigmoid-perceptron", "001", "Update rule of the sigmoid perceptron",
            _sigmoid_perceptron),
    Example("perceptron", "002", "The world's smallest perceptron y = w·x, half squared error",
            _smallest_perceptron),
    Example("chain3", "002", "Backpropagation through the 3-layer chain f3(w3·f2(w2·f1(w1·x + b)))",
            _chain3, ("w1", "w2", "w3", "b"),
            {"x": 1.0, "y": 0.5, "w1": 0.5, "w2": -1.0, "w3": 2.0, "b": 0.1}),
    Example("graph-qzf", "004", "The computational graph q = x + y, z = q + 1, f = z·r",
            _graph_qzf, ("x", "y", "r"), {"x": -2.0, "y": 5.0, "r": -4.0}),
    Example("max-gate", "004", "F = max(w1·x1 + w2·x2, x3): max routes the gradient",
            _max_gate, ("w1", "w2"),
            {"w1": 2.0, "x1": 1.0, "w2": -1.0, "x2": 3.0, "x3": -2.0}),
    Example("fully-connected", "001", "A fully connected layer lⱼ = Σₖ Wⱼₖ·xₖ + bⱼ with MSE",
            _fully_connected),
    Example("least-squares", "003", "Least squares: set ∂L/∂θ0 = ∂L/∂θ1 = 0",
            _least_squares, ("theta0", "theta1")),
    Example("dense-3x3", "004", "The layer σ(W·x + b) with the slide's 3×3 W, x and b, half squared error "
            "to y = (0, 1, 0): the sigmoid saturates", _dense_3x3, (), _DENSE_VALUES),
    Example("softmax-classifier", "004", "Neural network #1: p = softmax(W·x + b), cross-entropy with "
            "the true label y = (1, 0)", _softmax_classifier, (), _NETWORK_1_VALUES),
    Example("mlp", "002", "The [3, 4, 2] network of the parameter count: stacked layers, sigmoid, softmax, "
            "cross-entropy", _mlp, (), _MLP_VALUES),
]}


def example(name: str) -> Example:
    """A worked example by name, with an error that lists the names.

    >>> example("chain3").lecture
    '002'
    """
    try:
        return EXAMPLES[name]
    except KeyError:
        raise KeyError(f"no lecture example named {name!r} (known: {', '.join(EXAMPLES)})") from None


def model(name: str) -> Model | MatrixModel:
    """The model of a worked example by name.

    >>> print(model("perceptron"))
    L = (y - w·x)^2/2
    >>> print(model("softmax-classifier"))
    z1 = W1·x + b1    (2×1)
    p = softmax(z1)   (2×1)
    L = CE(y, p)
    """
    return example(name).model


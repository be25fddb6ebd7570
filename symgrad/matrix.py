"""Networks in matrix form: the matrix expressions, the layer-rule backward pass, matrix claims, components.

The concepts shared with scalar models have one name at the top level:
``symgrad.grad``, ``symgrad.chain_rule`` (a matrix model's layer
recurrences), ``symgrad.compile``, ``symgrad.verify`` and ``symgrad.train``
take a :class:`MatrixModel` as they take a scalar one; the builders are in
:mod:`symgrad.networks`. This namespace holds what only matrices have.

>>> from symgrad.matrix import softmax_classifier, backprop
>>> print(backprop(softmax_classifier(3, 2)))
δ1 = p - y        (2×1)
dL/dW1 = δ1·xᵀ    (2×3)
dL/db1 = δ1       (2×1)
(softmax followed by cross-entropy gives dL/dz = p - y when each target sums to 1 (a one-hot label or a distribution))
"""
from .layers import batched, dense, mlp, softmax_classifier, stack
from .compiler.matrix import CompiledModel
from .core.expressions import (BinaryCrossEntropy, CrossEntropy, Elementwise, Hadamard, HalfSquaredError, Softmax,
                               SquaredNorm, TargetLoss, broadcast, hadamard, ones)
from .core.matrix_model import Layer, MatrixModel
from .core.shapes import shape_text
from .errors import ClaimError, CompileError, ShapeError
from .numeric.matrices import evaluate, random_values
from .printing import latex, text
from .symbolic.components import component_symbols, componentwise, explicit
from .symbolic.matrix_rules import Backprop, backprop, backward_rule
from .parsing.matrix import parse_matrix
from .verification.matrix_claims import model_from_text

__all__ = [
    "Backprop", "BinaryCrossEntropy", "ClaimError", "CompileError", "CompiledModel", "CrossEntropy", "Elementwise",
    "Hadamard", "HalfSquaredError", "Layer", "MatrixModel", "ShapeError", "Softmax", "SquaredNorm",
    "TargetLoss", "backprop", "backward_rule", "batched", "broadcast", "component_symbols", "componentwise", "dense",
    "evaluate", "explicit", "hadamard", "latex", "mlp", "model_from_text", "ones", "parse_matrix", "random_values",
    "shape_text", "softmax_classifier", "stack", "text",
]

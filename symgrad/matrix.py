"""Matrices and layers: matrix models, layer-rule gradients, compiled batches and matrix claims.

>>> from symgrad.matrix import softmax_classifier, backprop
>>> print(backprop(softmax_classifier(3, 2)))
δ1 = p - y        (2×1)
dL/dW1 = δ1·xᵀ    (2×3)
dL/db1 = δ1       (2×1)
(softmax followed by cross-entropy gives dL/dz = p - y when each target sums to 1 (a one-hot label or a distribution))
"""
from .verification.matrix_claims import MatrixVerdict, model_from_text, parse_matrix, verify_matrix
from .errors import ClaimError
from .compiler.matrix import CompiledModel, compile_model
from .errors import CompileError
from .symbolic.components import component_symbols, componentwise, explicit
from .core.expressions import (BinaryCrossEntropy, CrossEntropy, Elementwise, Hadamard, HalfSquaredError, Softmax, SquaredNorm,
                          broadcast, hadamard, latex, ones, text)
from .builders.layers import batched, dense, mlp, softmax_classifier, stack
from .core.matrix_model import Layer, MatrixModel
from .numeric.matrices import evaluate, random_values
from .symbolic.matrix_rules import Backprop, backprop, backward_rule, matrix_grad
from .core.shapes import shape_text
from .errors import ShapeError

__all__ = [
    "Backprop", "BinaryCrossEntropy", "ClaimError", "CompileError", "CompiledModel", "CrossEntropy", "Elementwise", "Hadamard",
    "HalfSquaredError", "Layer", "MatrixModel", "MatrixVerdict", "ShapeError", "Softmax", "SquaredNorm",
    "backprop", "backward_rule", "batched", "broadcast", "compile_model", "component_symbols", "componentwise",
    "dense", "evaluate", "explicit", "hadamard", "latex", "matrix_grad", "mlp", "model_from_text", "ones",
    "parse_matrix", "random_values", "shape_text", "softmax_classifier", "stack", "text", "verify_matrix",
]

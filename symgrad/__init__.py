"""symgrad: derive, draw and check the gradients of loss functions and small neural networks.

>>> from sympy import symbols
>>> import symgrad
>>> w, x, b, y = symbols('w x b y')
>>> symgrad.grad((y - (w*x + b))**2, w)
2*x*(b + w*x - y)
"""
from . import losses, networks
from .derive import grad, DerivationError
from .functions import log_softmax, relu, sigmoid, softmax, softplus
from .model import Model, ModelError
from .ops import OPS, Op, op

__version__ = "0.1.0"

__all__ = [
    "DerivationError", "Model", "ModelError", "OPS", "Op", "grad", "log_softmax",
    "losses", "networks", "op", "relu", "sigmoid", "softmax", "softplus",
]

"""Lecture 002: the smallest perceptron, and backpropagation through the 3-layer chain."""
from sympy import symbols

import symgrad
from symgrad import losses, networks

w, x, y = symbols("w x y")
print(symgrad.update_rules(losses.half_squared_error(y, w * x), [w]))  # w + (y - yhat) x

chain = networks.chain(3, "sigmoid", loss=losses.half_squared_error)
print(chain)
print(symgrad.chain_rule(chain))
print("closed form dL/dw3 =", symgrad.grad(chain, "w3", form="closed"))
print("parameters of a [3, 4, 2] network:", networks.parameter_count([3, 4, 2]))

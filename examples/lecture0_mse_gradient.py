"""Lecture 000: the partial derivative of w*x + b, and gradient descent on the squared error."""
from sympy import symbols

import symgrad
from symgrad import losses, networks

w, x, b, y = symbols("w x b y")

print("d(wx + b)/dw =", symgrad.grad(w * x + b, w))

loss = losses.squared_error(y, w * x + b)
print("L =", loss)
print("dL/dw =", symgrad.grad(loss, w))  # the slide: 2x(wx + b - y)
print(symgrad.update_rules(loss, [w, b]))

# the same derivation as the slide's chain rule: dL/dw = dL/dl * dl/dw
model = networks.linear(loss=losses.squared_error)
print(symgrad.chain_rule(model, "w"))

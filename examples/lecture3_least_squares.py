"""Lecture 003: the least-squares line from dL/dtheta0 = dL/dtheta1 = 0."""
import symgrad

result = symgrad.least_squares()
print(result)

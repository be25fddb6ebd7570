"""Lecture 004: backprop on computational graphs, q = x + y, z = q + 1, f = z*r and max(w1 x1 + w2 x2, x3)."""
import sys
import tempfile
from pathlib import Path

from sympy import Max, symbols

from symgrad import Graph, Model

x, y, r, q, z, f = symbols("x y r q z f")
graph = Graph.from_model(Model([(q, x + y), (z, q + 1), (f, z * r)], params=[x, y, r]))
print("f =", graph.forward(x=-2.0, y=5.0, r=-4.0))  # q = 3, z = 4, f = -16
print("gradients:", graph.backward())  # df/dx = df/dy = r = -4, df/dr = z = 4

# max routes the gradient to the larger input; "gradients add when a variable appears twice"
w1, w2, x1, x2, x3, F = symbols("w1 w2 x1 x2 x3 F")
gate = Graph.from_model(Model([(F, Max(w1 * x1 + w2 * x2, x3))], inputs=[x1, x2, x3]))
gate.forward(w1=2.0, x1=3.0, w2=-1.0, x2=2.0, x3=1.0)  # 6 - 2 = 4 > 1: the sum wins
print("max gate gradients:", gate.backward())  # dF/dw1 = x1 = 3, dF/dw2 = x2 = 2

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
print("drawn:", graph.render(out / "qzf.svg", edge_labels="symbolic"))

"""Generate the NumPy source of a model's loss and gradients: forward stages, backward adjoints, blocked reductions.

The source is written as backprop is done by hand. The forward pass
computes each stage once (``a1 = b + w1*x``, ``f1 = sigmoid(a1)``); the
backward pass walks the stages in reverse and computes each stage's adjoint
once from its consumers' (``d_a3 = f3*t1*(1 - f3)``, ``d_f2 = d_a3*w3``),
reusing the forward values; a parameter's gradient is a reduction over the
samples, written as a dot product (``grad_w3 += d_a3 @ f2``). The size of
the code grows linearly with the depth of the model.

Long batches are processed in blocks of rows, sized so that a block's
arrays stay in the CPU cache; every per-sample value of a block is computed
in place (``out=``) in one of a few preallocated buffers, so the loop
allocates nothing; reductions are accumulated per block. Functions print to
numerically stable NumPy: ``sigmoid`` never overflows, ``softplus`` is
``logaddexp``, the log of a softmax is a log-sum-exp.

One module a step: ``printer`` prints expressions as stable NumPy;
``steps`` splits the stages into short assignments and sweeps them in
reverse for the adjoints; ``emit`` writes a block's steps as in-place NumPy
calls; ``standalone`` assembles the module, with the helpers of ``helpers``
and identifiers from ``names``, and writes it.

>>> import numpy as np
>>> from symgrad import losses, networks
>>> source = generate_source(networks.linear(loss=losses.squared_error))
>>> namespace = {}
>>> exec(source, namespace)
>>> namespace["loss_and_grad"](x=np.array([1.0, 2.0]), y=np.array([3.0, 5.0]), w=1.0, b=0.0)
(6.5, {'b': -5.0, 'w': -8.0})
"""
from .emit import CACHE_BUDGET
from .printer import logsumexp, stable_form
from .compiled import BACKENDS, FusedUnavailableWarning
from .standalone import REDUCTIONS, codegen, generate_source
from ..errors import CompileError

__all__ = ["BACKENDS", "CACHE_BUDGET", "FusedUnavailableWarning", "REDUCTIONS", "CompileError", "codegen", "generate_source", "logsumexp",
           "stable_form"]

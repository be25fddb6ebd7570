"""Compiled gradients on array-API arrays (array_api_strict: the standard and nothing more) against NumPy's."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symgrad
from symgrad import losses, networks
from symgrad.errors import ArgumentError
from symgrad.lectures.catalog import EXAMPLES

xp = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

z1, z2, z3 = sp.symbols("z1 z2 z3", real=True)
MODELS = {
    "mse-linear": EXAMPLES["mse-linear"].model,
    "chain3": EXAMPLES["chain3"].model,
    "max-gate": EXAMPLES["max-gate"].model,
    "perceptron(2), cross entropy": networks.perceptron(2, loss=losses.cross_entropy),
    "chain(2, tanh), l1": networks.chain(2, "tanh", loss=losses.l1),
    "chain(3, relu)": networks.chain(3, "relu", loss=losses.squared_error),
    "softmax of 3 scores": symgrad.Model.coerce(
        -sp.log(sp.exp(z1) / (sp.exp(z1) + sp.exp(z2) + sp.exp(z3))), inputs=[z2, z3]),
}


def _agree(result, reference):
    assert result[1].keys() == reference[1].keys()
    np.testing.assert_allclose(result[0], reference[0], rtol=1e-12)
    for name in reference[1]:
        np.testing.assert_allclose(result[1][name], reference[1][name], rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("n", [1, 300])
def test_array_api_agrees_with_numpy(name, n):
    model = MODELS[name]
    f = symgrad.compile(model)
    rng = np.random.default_rng(n)
    values = {str(s): rng.normal(size=n) for s in model.inputs}
    values.update({str(p): float(rng.normal()) for p in model.params})
    on_xp = {k: xp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in values.items()}
    result = f(**on_xp)
    assert type(result[0]) is float and all(type(g) is float for g in result[1].values())
    _agree(result, f(**values))


def test_saturated_sigmoid_chain_stays_finite():
    """chain(3) at data ±1000: every sigmoid saturates; the clamped e^-a never overflows, the result is NumPy's."""
    f = symgrad.compile(MODELS["chain3"])
    x = np.array([-1000.0, 1000.0, -800.0, 800.0])
    values = dict(y=np.array([0.0, 1.0, 0.5, 0.5]), b=0.1, w1=1.0, w2=-1.0, w3=2.0)
    _agree(f(x=xp.asarray(x), **{**values, "y": xp.asarray(values["y"])}), f(x=x, **values))


def test_mixed_data_integers_and_scalars():
    f = symgrad.compile(MODELS["mse-linear"])
    x = np.arange(6)
    _agree(f(x=xp.asarray(x), y=2.5, w=0.5, b=1.0), f(x=x, y=2.5, w=0.5, b=1.0))
    _agree(f(x=xp.asarray(x, dtype=xp.float64), y=np.ones(6), w=xp.asarray(0.5), b=1),
           f(x=x, y=np.ones(6), w=0.5, b=1.0))


def test_array_api_errors():
    f = symgrad.compile(MODELS["mse-linear"])
    with pytest.raises(ValueError, match="data y has 2 samples but x has 3"):
        f(x=xp.ones(3), y=xp.ones(2), w=1.0, b=0.0)
    with pytest.raises(ValueError, match="data x must be a 1-D array"):
        f(x=xp.ones((3, 2)), y=xp.ones(3), w=1.0, b=0.0)
    with pytest.raises(ValueError, match="parameter w must be a scalar"):
        f(x=xp.ones(3), y=xp.ones(3), w=xp.ones(2), b=0.0)
    with pytest.raises(ArgumentError, match="parameter b must be a real number"):
        f(x=xp.ones(3), y=xp.ones(3), w=1.0, b="one")

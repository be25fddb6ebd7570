"""The lectures' symbolic worked results, reproduced. Every expected value is written from a slide."""
from __future__ import annotations

import sympy as sp
from sympy import IndexedBase, Sum, symbols

from helpers import same
from symgrad import (chain_rule, grad, least_squares, losses, networks, sigmoid, update_rules)

w, x, b, y, eta = symbols("w x b y eta")


def test_partial_of_linear_function_is_x():
    # lecture 000: d(wx + b)/dw = x
    assert grad(w * x + b, w) == x


def test_mse_one_sample():
    # lecture 000: L = (y - (wx + b))^2, dL/dw = 2x(wx + b - y)
    derivative = grad((y - (w * x + b)) ** 2, w)
    assert same(derivative, 2 * x * (w * x + b - y))
    assert same(derivative, 2 * w * x**2 + 2 * x * b - 2 * y * x)  # the expanded line of the slide
    assert str(derivative) == "2*x*(b + w*x - y)"  # printed factored, as the slide writes it


def test_mse_one_sample_by_the_chain_rule_of_the_slide():
    # lecture 000: dL/dw = dL/dl * dl/dw = -2(y - l) * x, with l = wx + b
    l, L = symbols("l L")
    model = networks.linear().with_loss(losses.squared_error, y)
    rule = chain_rule(model, w)
    assert [str(f) for f in rule.paths[0]] == ["dL/dyhat", "dyhat/dw"]
    yhat = symbols("yhat")
    assert same(rule.paths[0][0].value, -2 * (y - yhat))
    assert same(rule.paths[0][1].value, x)


def test_half_squared_error_of_smallest_perceptron():
    # lecture 002: L = 1/2 (y - yhat)^2 with yhat = wx gives dL/dw = -(y - yhat) x
    derivative = grad(losses.half_squared_error(y, w * x), w)
    assert same(derivative, -(y - w * x) * x)


def test_update_rule_of_smallest_perceptron():
    # lecture 002: w = w - eta * grad = w + eta (y - yhat) x
    rules = update_rules(losses.half_squared_error(y, w * x), [w])
    assert same(rules[w], w + eta * (y - w * x) * x)
    assert str(rules) == "w ← w - η·x(w·x - y)"


def test_two_input_perceptron_partials():
    # lecture 002: grad w_i = -(y - yhat) x_i for yhat = w1 x1 + w2 x2
    w1, w2, x1, x2 = symbols("w1 w2 x1 x2")
    yhat = w1 * x1 + w2 * x2
    grads = grad(losses.half_squared_error(y, yhat), [w1, w2])
    assert same(grads[w1], -(y - yhat) * x1)
    assert same(grads[w2], -(y - yhat) * x2)


def _data_set():
    ws, xs, ys = IndexedBase("w"), IndexedBase("x"), IndexedBase("y")
    i, j, k, m, n = symbols("i j k m N")
    return ws, xs, ys, i, j, k, m, n


def test_linear_data_set_loss_collapses_kronecker_deltas():
    # lecture 001: L = sum_k (y_k - w^T x_k)^2, dL/dw_j = -2 sum_k delta_k x_kj
    ws, xs, ys, i, j, k, m, n = _data_set()
    loss = Sum((ys[k] - Sum(ws[i] * xs[k, i], (i, 1, m))) ** 2, (k, 1, n))
    derivative = grad(loss, ws[j])
    assert not derivative.has(sp.KroneckerDelta) and not derivative.has(sp.Piecewise)
    delta = ys[k] - Sum(ws[i] * xs[k, i], (i, 1, m))
    assert same(derivative, -2 * Sum(delta * xs[k, j], (k, 1, n)))
    # constant pulled out of the sum, as on the slide
    assert derivative.as_coeff_Mul()[0] == -2


def test_differentiating_by_the_summation_index_is_still_right():
    # sympy issue #21891: d/dw_k of a sum over k must not confuse the free and bound k
    ws, xs, ys, i, j, k, m, n = _data_set()
    loss = Sum((ys[k] - Sum(ws[i] * xs[k, i], (i, 1, m))) ** 2, (k, 1, n))
    by_k = grad(loss, ws[k])
    assert k in by_k.free_symbols  # the answer is about w_k
    # independent check on a concrete data set (3 samples, 2 features): let SymPy
    # expand the sums and differentiate by w_2, with no Kronecker delta involved
    sizes = {n: 3, m: 2}
    expected = sp.diff(loss.subs(sizes).doit(), ws[2])
    assert sp.expand(by_k.subs(sizes).subs(k, 2).doit() - expected) == 0


def test_linear_data_set_update_rule():
    # lecture 001: w_j <- w_j + 2 eta sum_k delta_k x_kj
    ws, xs, ys, i, j, k, m, n = _data_set()
    loss = Sum((ys[k] - Sum(ws[i] * xs[k, i], (i, 1, m))) ** 2, (k, 1, n))
    rule = update_rules(loss, [ws])
    (param,) = rule
    delta = ys[k] - Sum(ws[i] * xs[k, i], (i, 1, m))
    expected = param + 2 * eta * Sum(delta * xs[k, param.indices[0]], (k, 1, n))
    assert same(rule[param], expected)


def test_sigmoid_perceptron_update_rule_is_the_lectures():
    # lecture 001: w_j <- w_j + 2 eta sum_i delta_i sigma_i (1 - sigma_i) x_ij,
    # sigma_i = sigma(sum_k w_k x_ik), delta_i = y_i - sigma_i
    model = networks.perceptron(indexed=True, loss=losses.squared_error)
    rules = update_rules(model)
    (param,) = rules
    ws, xs, ys = IndexedBase("w"), IndexedBase("x"), IndexedBase("y")
    i, k, m, n = symbols("i k m N")
    j = param.indices[0]
    sigma_i = sigmoid(Sum(ws[k] * xs[i, k], (k, 1, m)))
    delta_i = ys[i] - sigma_i
    lecture = ws[j] + 2 * eta * Sum(delta_i * sigma_i * (1 - sigma_i) * xs[i, j], (i, 1, n))
    assert same(rules[param], lecture)
    text = str(rules)
    assert "σᵢ = σ(Σₖ₌₁ᵐ (wₖ·xᵢₖ))" in text and "δᵢ = yᵢ - σᵢ" in text  # subscripts as Unicode, not x_{ik}


def test_sigmoid_derivative_identity():
    # lecture 001: sigma'(x) = sigma(x)(1 - sigma(x)), and it is the derivative of 1/(1 + e^-x)
    a = symbols("a")
    assert sp.diff(sigmoid(a), a) == sigmoid(a) * (1 - sigmoid(a))
    assert str(sp.diff(sigmoid(a), a)) == "sigmoid(a)*(1 - sigmoid(a))"
    assert sp.simplify(sp.diff(1 / (1 + sp.exp(-a)), a) - (sigmoid(a) * (1 - sigmoid(a))).rewrite(sp.exp)) == 0


CHAIN = networks.chain(3, loss=losses.half_squared_error)
a1, f1, a2, f2, a3, f3, w1, w2, w3 = symbols("a1 f1 a2 f2 a3 f3 w1 w2 w3")


def test_chain3_chain_rule_factors_as_the_slide_writes_them():
    # lecture 002: dL/dw3 = dL/df3 df3/da3 da3/dw3 = -(y - yhat) f3(1 - f3) f2
    rules = chain_rule(CHAIN)
    names = {p: [str(f) for f in rules[p].paths[0]] for p in rules}
    assert names[w3] == ["dL/df3", "df3/da3", "da3/dw3"]
    assert names[w2] == ["dL/df3", "df3/da3", "da3/df2", "df2/da2", "da2/dw2"]
    assert names[w1] == ["dL/df3", "df3/da3", "da3/df2", "df2/da2", "da2/df1", "df1/da1", "da1/dw1"]
    assert names[b] == ["dL/df3", "df3/da3", "da3/df2", "df2/da2", "da2/df1", "df1/da1", "da1/db"]
    values = [f.value for f in rules[w3].paths[0]]
    assert same(values[0], -(y - f3)) and values[1] == f3 * (1 - f3) and values[2] == f2
    # backprop reuses dL/df3 and df3/da3 for every parameter
    shared = {str(f): ps for f, ps in rules.shared_factors().items()}
    assert set(shared["dL/df3"]) == {w1, w2, w3, b}
    assert set(shared["df1/da1"]) == {w1, b}


def test_chain3_partials_in_stage_form():
    # lecture 002, with L = (y - f3)^2 / 2 and sigmoid units
    stage = grad(CHAIN, [w1, w2, w3, b])
    d3 = -(y - f3) * f3 * (1 - f3)
    assert same(stage[w3], d3 * f2)
    assert same(stage[w2], d3 * w3 * f2 * (1 - f2) * f1)
    assert same(stage[w1], d3 * w3 * f2 * (1 - f2) * w2 * f1 * (1 - f1) * x)
    assert same(stage[b], d3 * w3 * f2 * (1 - f2) * w2 * f1 * (1 - f1))
    # the chain-rule product equals grad
    rules = chain_rule(CHAIN)
    for p in (w1, w2, w3, b):
        assert same(rules[p].expression(), stage[p])


def test_chain3_partials_in_closed_form():
    # y = f3(w3 f2(w2 f1(w1 x + b))), differentiated by hand with sigma' = sigma(1 - sigma)
    s1 = sigmoid(w1 * x + b)
    s2 = sigmoid(w2 * s1)
    s3 = sigmoid(w3 * s2)
    closed = grad(CHAIN, [w1, w2, w3, b], form="closed")
    d3 = (s3 - y) * s3 * (1 - s3)
    assert same(closed[w3], d3 * s2)
    assert same(closed[w2], d3 * w3 * s2 * (1 - s2) * s1)
    assert same(closed[w1], d3 * w3 * s2 * (1 - s2) * w2 * s1 * (1 - s1) * x)
    assert same(closed[b], d3 * w3 * s2 * (1 - s2) * w2 * s1 * (1 - s1))
    # and against SymPy differentiating the fully substituted loss, an independent route
    loss = (y - s3) ** 2 / 2
    for p in (w1, w2, w3, b):
        assert same(closed[p], sp.diff(loss, p))


def test_least_squares_closed_form():
    # lecture 003: theta1 = (m sum yx - sum x sum y) / (m sum x^2 - (sum x)^2),
    #              theta0 = (sum y - theta1 sum x) / m
    result = least_squares()
    xs, ys = IndexedBase("x"), IndexedBase("y")
    i, m, t0, t1 = symbols("i m theta0 theta1")

    def total(e):
        return Sum(e, (i, 1, m))

    theta1 = (m * total(ys[i] * xs[i]) - total(xs[i]) * total(ys[i])) / (
        m * total(xs[i] ** 2) - total(xs[i]) ** 2)
    assert same(result.solution[t1], theta1)
    assert same(result.solution[t0], (total(ys[i]) - theta1 * total(xs[i])) / m)
    # the normal equations of the slide: dL/dtheta1 = 2 t1 sum x^2 + 2 t0 sum x - 2 sum xy
    assert same(result.equations[t1],
                2 * t1 * total(xs[i] ** 2) + 2 * t0 * total(xs[i]) - 2 * total(xs[i] * ys[i]))
    assert same(result.equations[t0], 2 * t1 * total(xs[i]) + 2 * t0 * m - 2 * total(ys[i]))


def test_parameter_count_of_the_quiz_network():
    # lecture 002: (3*4) + (4*2) = 20 weights, + 4 + 2 biases = 26
    assert networks.parameter_count([3, 4, 2]) == 26
    assert len(networks.fully_connected(3, 4).params) == 3 * 4 + 4

"""Build SymPy expressions, equations and update rules from the parse tree, directly and without eval."""
from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass
from functools import reduce

import sympy as sp
from lark import Token, Tree
from sympy import Derivative, Indexed, IndexedBase, Symbol

from ..core.ops import OPS, softmax
from ..errors import ParseError
from .vocabulary import FUNCTIONS
from .results import Equation, UpdateRule

__all__ = ["MAX_DEPTH", "MAX_POWER_BITS", "Builder"]

#: deepest parse tree accepted (each level of parentheses is about two)
MAX_DEPTH = 250
#: largest exact number a power of numbers may produce, in bits (about 3,000 digits)
MAX_POWER_BITS = 10_000


@dataclass(frozen=True)
class _Differential:
    """``∂`` (or ``∂^n``) at the start of a derivative's numerator or denominator."""

    order: int
    pos: int


@dataclass(frozen=True)
class _DiffOp:
    """The operator ``d/dw`` or ``∂/∂w``, waiting for what follows it."""

    variables: tuple
    pos: int


class _Chain:
    """Factors written side by side, kept apart until derivative operators are applied."""

    def __init__(self, items: list, pos: int, end: int | None = None, groups=None):
        self.items = items
        self.pos = pos
        #: where the factors end in the text, when known
        self.end = end
        #: per factor written: (number of items, start, end) in the text; None when unknown
        self.groups = groups


@dataclass(frozen=True)
class _Tuple:
    """``(a, b)``: a vector written as a tuple, allowed only on its own (a side of an equation)."""

    entries: tuple
    pos: int


def _has_matrix(items) -> bool:
    return any(isinstance(item, sp.MatrixBase) for item in items)


#: most expression nodes a matrix computed from a formula may hold (products of symbolic matrices grow fast)
MAX_MATRIX_NODES = 20_000


class _MatrixTooLarge(ArithmeticError):
    """A product or power of matrices grew past :data:`MAX_MATRIX_NODES`."""


def _check_matrix_size(value):
    if isinstance(value, sp.MatrixBase):
        count = 0
        for entry in value:
            for _ in sp.preorder_traversal(entry):
                count += 1
                if count > MAX_MATRIX_NODES:
                    raise _MatrixTooLarge(f"the result would hold more than {MAX_MATRIX_NODES} "
                                          "terms")
    return value


def _mul(items: list) -> sp.Expr:
    """The product of ``items``; matrices multiply in the order written (SymPy's Mul would not)."""
    if _has_matrix(items):
        return reduce(lambda a, b: _check_matrix_size(a * b), items, sp.S.One)
    return sp.Mul(*items)


def _add(items: list) -> sp.Expr:
    if _has_matrix(items):
        return reduce(operator.add, items)
    return sp.Add(*items)


#: the exponent that marks a transpose: ⊤ from \top or ᵀ, and T unless declared a symbol
_TRANSPOSE = Symbol("⊤")


def _pos(node) -> int:
    if isinstance(node, Token):
        return node.start_pos
    return node.meta.start_pos


def _end(node) -> int:
    if isinstance(node, Token):
        return node.end_pos
    return node.meta.end_pos


#: longest piece of the text quoted in an error message
_QUOTE = 40


def _undefined(value) -> bool:
    """Whether SymPy made ``value`` complex infinity (``1/0``) or not-a-number (``0/0``, ``∞ - ∞``)."""
    return isinstance(value, sp.Basic) and value.has(sp.S.ComplexInfinity, sp.S.NaN)


def _infinite(value) -> bool:
    return isinstance(value, sp.Basic) and value.is_infinite is True


def _check_depth(tree: Tree, text: str) -> None:
    """Refuse trees deeper than :data:`MAX_DEPTH` before any recursion walks them."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"formula is nested too deeply (more than {MAX_DEPTH} levels)",
                             text, _pos(node))
        for child in node.children:
            if isinstance(child, Tree):
                # a chain a*b*c*... is a right-leaning spine, walked without recursion
                flat = node.data == "product" and child.data == "product"
                stack.append((child, depth if flat else depth + 1))


def _is_d(item) -> bool:
    return isinstance(item, Symbol) and item.name == "d"


def _as_variable(item):
    """``(variable, count)`` for ``w``, ``w_j`` or ``w^2``; ``None`` for anything else."""
    if isinstance(item, (Symbol, Indexed)):
        return item, 1
    if isinstance(item, sp.Pow) and isinstance(item.base, (Symbol, Indexed)) \
            and item.exp.is_Integer and item.exp > 0:
        return item.base, int(item.exp)
    return None


def _numerator_order(item) -> int | None:
    if isinstance(item, _Differential):
        return item.order
    if _is_d(item):
        return 1
    if isinstance(item, sp.Pow) and _is_d(item.base) and item.exp.is_Integer and item.exp > 0:
        return int(item.exp)
    return None


def _power_bits(base: sp.Expr, exp: sp.Rational) -> float:
    """Rough size in bits of the exact number SymPy would compute for ``base**exp``."""
    if base.is_Rational:
        biggest = max(abs(base.p), base.q)
        return abs(exp.p) * math.log2(biggest) if biggest > 1 else 0.0
    if isinstance(base, sp.Pow) and base.exp.is_Rational:
        return _power_bits(base.base, base.exp * exp)
    if isinstance(base, sp.Mul):
        return sum(_power_bits(f, exp) for f in base.args)
    return 0.0


def _abs(arg: sp.Expr) -> sp.Expr:
    # SymPy's evaluation of Abs(x + Abs(x + ...)) costs about depth**4; nested bars
    # are kept as written
    return sp.Abs(arg, evaluate=not arg.has(sp.Abs))


def _shown(value: sp.Expr) -> str:
    """A value in a message: SymPy's text, with ``oo`` written ∞."""
    return re.sub(r"\boo\b", "∞", str(value))


def _why_product(factors: list) -> str:
    """Why a product SymPy made nan or zoo has no value: 0·∞, or a factor that itself has none."""
    if any(f.is_zero for f in factors if isinstance(f, sp.Basic)) and any(map(_infinite, factors)):
        return "0·∞ has no value"
    return "it has no value"


class Builder:
    """Turns one parse tree into SymPy objects; holds the user's symbols and sum sizes."""

    def __init__(self, text: str, user: dict, sizes: dict, functions: dict | None = None):
        self.text = text
        self.user = user
        self.sizes = sizes
        #: user-declared function names, each with its SymPy function class
        self.functions = functions or {}
        #: sentences about readings a reader could take otherwise (``1/2x``)
        self.notes: list[str] = []

    def error(self, message: str, node_or_pos):
        pos = node_or_pos if isinstance(node_or_pos, int) else _pos(node_or_pos)
        raise ParseError(message, self.text, pos)

    def quote(self, start, stop=None) -> str:
        """The text from node (or position) ``start`` to the end of node (or position) ``stop``, on one line."""
        first = start if isinstance(start, int) else _pos(start)
        stop = start if stop is None else stop
        last = stop if isinstance(stop, int) else _end(stop)
        piece = " ".join(self.text[first:last].split())
        return piece if len(piece) <= _QUOTE else piece[:_QUOTE - 1] + "…"

    # -- values without a value ---------------------------------------------
    # SymPy turns 1/0 and log(0) into zoo (complex infinity) and 0/0 or ∞ - ∞ into nan, which
    # would then be derived, printed and compiled as if they were numbers: each is refused where
    # it appears, naming that part of the text.

    def nonzero_divisor(self, divisor: sp.Expr, where, node) -> None:
        """Refuse dividing by what SymPy knows is exactly zero; ``where`` quotes the division."""
        if isinstance(divisor, sp.Basic) and divisor.is_zero:
            self.error(f"division by zero in {where}", node)

    def defined(self, value, node, why: str = "it has no value") -> sp.Expr:
        """``value`` unless SymPy made it (or a part of it) zoo or nan: then an error quoting ``node``."""
        if _undefined(value):
            self.error(f"{self.quote(node)} is undefined: {why}", node)
        return value

    # -- names ------------------------------------------------------------
    def symbol(self, name: str):
        obj = self.user.get(name)
        return obj if obj is not None else Symbol(name)

    def base(self, name: str) -> IndexedBase:
        obj = self.user.get(name)
        if isinstance(obj, IndexedBase):
            return obj
        if isinstance(obj, Symbol):
            return IndexedBase(obj)
        return IndexedBase(name)

    def size(self, index: str):
        return self.sizes.get(index, Symbol(f"n_{index}"))

    # -- values -----------------------------------------------------------
    def close(self, value, node=None) -> sp.Expr:
        """A finished SymPy expression: apply derivative operators, reject stray ∂."""
        if isinstance(value, _Chain):
            done: list = []
            for item in reversed(value.items):
                if isinstance(item, _DiffOp):
                    if not done:
                        self.error("the derivative operator has nothing to act on: write "
                                   "what it differentiates right after it, as in d/dw (w*x)",
                                   item.pos)
                    done = [Derivative(self.matrix_safe(_mul, done, item.pos), *item.variables)]
                else:
                    done.insert(0, self.close(item))
            product = self.matrix_safe(_mul, done, value.pos)
            if _undefined(product):
                what = "this product" if value.end is None else self.quote(value.pos, value.end)
                self.error(f"{what} is undefined: {_why_product(done)}", value.pos)
            return product
        if isinstance(value, _Tuple):
            return sp.ImmutableMatrix(list(value.entries))
        if isinstance(value, _DiffOp):
            self.error("the derivative operator has nothing to act on: write what it "
                       "differentiates right after it, as in d/dw (w*x)", value.pos)
        if isinstance(value, _Differential):
            self.error("∂ must start a derivative, as in \\frac{\\partial L}{\\partial w} "
                       "or ∂L/∂w", value.pos)
        return value

    def build(self, node):
        if isinstance(node, Token):  # pragma: no cover - every token sits inside a rule
            self.error(f"unexpected {node!s}", node)
        return getattr(self, "b_" + str(node.data))(node)

    # -- statements -------------------------------------------------------
    def b_expression(self, node):
        return self.close(self.build(node.children[0]))

    def b_equation(self, node):
        sides = [self.close(self.build(c)) for c in node.children if isinstance(c, Tree)]
        return Equation(sides[0], sides[-1], tuple(sides[1:-1]))

    def b_update(self, node):
        target, _, value = node.children
        param = self.close(self.build(target))
        if not isinstance(param, (Symbol, Indexed, IndexedBase)):
            self.error(f"the left side of an update rule must be one parameter such as w "
                       f"or w_j, not {param}", target)
        return UpdateRule(param, self.close(self.build(value)))

    # -- arithmetic -------------------------------------------------------
    def b_sum(self, node):
        children = node.children
        terms = [self.close(self.build(children[0]))]
        for op, term in zip(children[1::2], children[2::2]):
            value = self.close(self.build(term))
            terms.append(-value if op.type == "MINUS" else value)
        return self.defined(self.matrix_safe(_add, terms, node), node, "∞ - ∞ has no value")

    def b_product(self, node):
        # flatten the right-leaning spine a * (b / (c * ...)) into operands and operators
        operands, ops, spine = [], [], node
        while isinstance(spine, Tree) and spine.data == "product":
            operands.append(spine.children[0])
            ops.append(spine.children[1])
            spine = spine.children[2]
        operands.append(spine)
        factors = [("*", self.build(operands[0]), operands[0])]
        for op, operand in zip(ops, operands[1:]):
            value = self.build(operand)
            if op.type == "SLASH":
                # dL/dw, eta * dL/dw: the fraction binds to the operand just before it
                prev_op, prev, prev_node = factors[-1]
                derivative = self.derivative(prev, value, operand, rest_allowed=True)
                if derivative is not None:
                    factors[-1] = (prev_op, derivative, prev_node)
                    continue
            if op.type == "SLASH" and isinstance(value, _Chain) and value.groups \
                    and len(value.groups) > 1:
                # a/b c is (a/b)·c: the denominator is the first factor after the slash
                factors.extend(self.split_denominator(factors[-1], value, operand))
                continue
            factors.append(("*" if op.type == "STAR" else "/", value, operand))
        result, divisors = [], []
        for k, (op, value, operand) in enumerate(factors):
            value = self.close(value)
            if op == "/":
                self.scalar(value, "a denominator", operand)
                self.nonzero_divisor(value, self.quote(factors[k - 1][2], operand), operand)
                divisors.append(value)
            result.append(value if op == "*" else sp.Pow(value, -1))
        product = self.matrix_safe(_mul, result, node)
        if _undefined(product):
            why = "∞/∞ has no value" if any(map(_infinite, divisors)) else _why_product(result)
            self.defined(product, node, why)
        return product

    def split_denominator(self, numerator: tuple, value: _Chain, operand) -> list:
        """``a/b c`` as ``(a/b)·c``; a note when ``b`` and ``c`` touch (``1/2x``), where readers differ."""
        count, den_start, den_end = value.groups[0]
        den_items, rest_items = value.items[:count], value.items[count:]
        rest_start = value.groups[1][1]
        if rest_start == den_end:  # written touching: 1/2x, a/bc, 1/2(x+1)
            num_node = numerator[2]
            num, den = self.text[_pos(num_node):_end(num_node)], self.text[den_start:den_end]
            rest = self.text[rest_start:value.groups[-1][2]]
            den_value = self.close(_Chain(den_items, den_start))
            self.scalar(den_value, "a denominator", operand)
            reading = self.matrix_safe(_mul, [self.close(numerator[1]), sp.Pow(den_value, -1),
                                              self.close(_Chain(rest_items, rest_start))], operand)
            self.notes.append(f"`{self.quote(num_node, value.groups[-1][2])}` is read as "
                              f"{reading} (({num}/{den})·{rest}); write {num}/({den}{rest}) "
                              f"or ({num}/{den}){rest} to be unambiguous")
        return [("/", _Chain(den_items, den_start, den_end), operand),
                ("*", _Chain(rest_items, rest_start, value.end), operand)]

    def b_neg(self, node):
        value = self.build(node.children[1])
        if isinstance(value, _Chain):  # keep -dL/dw and -d/dw (...) recognisable
            return _Chain([sp.S.NegativeOne, *value.items], value.pos)
        if isinstance(value, (_DiffOp, _Differential)):
            return _Chain([sp.S.NegativeOne, value], _pos(node))
        return -value

    def b_pos(self, node):
        return self.build(node.children[1])

    def b_juxt(self, node):
        items, groups = [], []
        for child in node.children:
            value = self.build(child)
            if isinstance(value, _Tuple) and len(node.children) > 1:
                self.error("a tuple (a, b) is only read on its own, as a vector; for a function "
                           "call declare the function, e.g. functions=['F']", child)
            parts = value.items if isinstance(value, _Chain) else [value]
            items.extend(parts)
            groups.append((len(parts), _pos(child), _end(child)))
        return _Chain(items, _pos(node), _end(node), groups)

    def b_power(self, node):
        base_node, _, exp_node = node.children
        base = self.build(base_node)
        exp = self.close(self.build(exp_node))
        if exp == _TRANSPOSE or (exp == Symbol("T") and "T" not in self.user):
            return self.transpose(self.close(base))
        if isinstance(base, _Differential):
            if not (exp.is_Integer and exp > 0):
                self.error("the order of a derivative must be a positive whole number",
                           exp_node)
            return _Differential(base.order * int(exp), base.pos)
        return self.power(self.close(base), exp, node)

    @staticmethod
    def transpose(value):
        """``W^T``: a matrix's transpose; for anything else SymPy's ``transpose(W)``, kept unevaluated.

        A scalar formula holding a transpose is really a matrix formula: the
        unevaluated ``transpose`` keeps that visible (``.doit()`` drops it for
        a scalar), so a checker can hand the formula to the matrix reader.
        """
        if isinstance(value, sp.MatrixBase):
            return value.T
        return sp.transpose(value, evaluate=False)

    def power(self, base: sp.Expr, exp: sp.Expr, node) -> sp.Expr:
        """``base**exp``, refusing powers of numbers too large to compute."""
        if base.is_number and exp.is_Rational and base is not sp.E:
            bits = _power_bits(base, exp)
            if bits == 0.0 and not base.is_Rational and abs(exp) > 10_000:
                bits = math.inf  # other numeric bases (1+sqrt(2))**n: keep it small
            if bits > MAX_POWER_BITS:
                self.error(f"number too large: ({base})**({exp}) would have about "
                           f"{bits:.3g} bits (at most {MAX_POWER_BITS})", node)
            if not exp.is_Integer:
                # SymPy looks for perfect powers in a root's base: slow for huge integers
                size = max((max(abs(r.p), r.q).bit_length() for r in base.atoms(sp.Rational)),
                           default=0)
                if size > MAX_POWER_BITS // 3:
                    self.error(f"number too large: a root of a number of {size} bits "
                               f"(at most {MAX_POWER_BITS // 3})", node)
        self.scalar(exp, "an exponent", node)
        if isinstance(base, sp.MatrixBase):
            if not (exp.is_Integer and 0 < exp <= 64 and base.is_square):
                self.error("a matrix can only be raised to a whole power from 1 to 64, and "
                           "only when it is square", node)
            return self.matrix_safe(_mul, [base] * int(exp), node)
        if base.is_zero and exp.is_extended_negative:
            self.error(f"division by zero in {self.quote(node)} (0 to a negative power)", node)
        why = f"{_shown(base)} to the power {_shown(exp)} has no value"
        return self.defined(sp.Pow(base, exp), node, why)

    # -- atoms ------------------------------------------------------------
    def b_number(self, node):
        token = node.children[0]
        m = re.fullmatch(r"(\d*)(?:\.(\d+))?(?:[eE]([+-]?\d+))?", str(token))
        whole, frac, exp = m.group(1), m.group(2) or "", m.group(3)
        value = sp.Rational(int(whole + frac or "0"), 10 ** len(frac))
        if exp is not None:
            if len(exp.lstrip("+-")) > 6 or abs(int(exp)) * math.log2(10) > MAX_POWER_BITS:
                largest = int(MAX_POWER_BITS / math.log2(10))
                size = "small" if exp.startswith("-") else "large"
                self.error(f"number too {size}: {token} (exponent {int(exp)} is out of range; "
                           f"at most {largest} in magnitude)", token)
            value = value * sp.Rational(10) ** int(exp)
        return value

    def b_const(self, node):
        return sp.E if str(node.children[0]) == "e" else sp.pi

    def b_infinity(self, node):
        return sp.oo

    def b_partial(self, node):
        return _Differential(1, _pos(node))

    def b_paren(self, node):
        entries = [c for c in node.children[1].children if isinstance(c, Tree)] \
            if isinstance(node.children[1], Tree) and node.children[1].data == "arguments" \
            else [node.children[1]]
        if len(entries) > 1:  # (0.98, 0.02): a vector written as a tuple
            return _Tuple(tuple(self.close(self.build(e)) for e in entries), _pos(node))
        value = self.build(entries[0])
        if isinstance(value, _DiffOp) or (isinstance(value, _Chain) and value.items
                                          and isinstance(value.items[-1], _DiffOp)):
            return value  # (d/dw) x: the operator acts on what follows the parentheses
        return self.close(value)

    def scalar(self, value, where: str, node) -> None:
        """Refuse a matrix where only a number or scalar expression can stand (log, a sum's body, ...)."""
        if isinstance(value, sp.MatrixBase):
            self.error(f"a matrix cannot be {where}: only products, sums, softmax, ‖·‖ and "
                       "^T take matrices", node)

    def matrix_safe(self, combine, items: list, node):
        """``combine(items)``, turning SymPy's complaints about matrix shapes into a ParseError."""
        try:
            return combine(items)
        except _MatrixTooLarge as error:
            self.error(f"matrix too large: {error}", node)
        except (sp.ShapeError, sp.NonSquareMatrixError, TypeError, ValueError) as error:
            shapes = " and ".join(f"{v.rows}×{v.cols}" if isinstance(v, sp.MatrixBase)
                                  else "a scalar" for v in items)
            self.error(f"these cannot be combined ({shapes}): {error}", node)

    def b_norm(self, node):
        """``‖v‖``: the Euclidean (Frobenius) norm; ``sqrt(v**2)`` for a scalar, = ``|v|`` when v is real."""
        value = self.close(self.build(node.children[1]))
        if isinstance(value, sp.MatrixBase):
            return sp.sqrt(_add([entry ** 2 for entry in value]))
        return sp.sqrt(value ** 2)

    def b_indicator(self, node):
        """``\\mathbb{1}\\{a \\geq b\\}``: ``Heaviside(a - b, 1)``; strict ``>`` gives ``Heaviside(a - b, 0)``."""
        _, _, lhs_node, rel, rhs_node, _ = node.children
        lhs, rhs = self.close(self.build(lhs_node)), self.close(self.build(rhs_node))
        self.scalar(lhs, "an indicator's condition", lhs_node)
        self.scalar(rhs, "an indicator's condition", rhs_node)
        difference = lhs - rhs if str(rel).startswith(">") else rhs - lhs
        at_zero = sp.S.One if str(rel).endswith("=") else sp.S.Zero
        return sp.Heaviside(difference, at_zero)

    def b_matrix(self, node):
        rows = [[self.close(self.build(cell)) for cell in row.children if isinstance(cell, Tree)]
                for row in node.children if isinstance(row, Tree)]
        if any(isinstance(cell, sp.Basic) and cell.has(sp.oo, -sp.oo, sp.zoo)
               for row in rows for cell in row):
            self.error("∞ in a matrix cannot be computed with", node)
        if len({len(row) for row in rows}) != 1:
            self.error(f"the rows of this matrix have different lengths "
                       f"({', '.join(str(len(r)) for r in rows)})", node)
        if any(isinstance(cell, sp.MatrixBase) for row in rows for cell in row):
            self.error("a matrix inside a matrix cannot be read", node)
        return sp.ImmutableMatrix(rows)

    def b_nabla(self, node):
        """``\\nabla_w L``: the operator d/dw applied to what follows, like ``\\frac{\\partial}{\\partial w}``."""
        variables = []
        for argument in node.children[3].children:
            if isinstance(argument, Tree):
                value = self.close(self.build(argument))
                if not isinstance(value, (Symbol, Indexed)):
                    self.error(f"\\nabla_{{...}} takes the variables of the gradient, not {value}",
                               argument)
                variables.append(value)
        return _DiffOp(tuple(variables), _pos(node))

    def b_abs(self, node):
        value = self.close(self.build(node.children[1]))
        self.scalar(value, "|...|", node)
        return _abs(value)

    def b_variable(self, node):
        name = str(node.children[0])
        if len(node.children) == 1:
            return self.symbol(name)
        groups = [c for c in node.children[3].children if isinstance(c, Tree)]
        atoms = [self.index_atoms(g) for g in groups]
        if len(groups) == 1 and atoms[0] and all(kind == "num" for kind, _ in atoms[0]):
            # w_1, f_3, w_{12}, \theta_0: a numeric subscript is part of the name
            digits = "".join(text for _, text in atoms[0])
            joined = f"{name}_{digits}" if name[-1].isdigit() else name + digits
            return self.symbol(joined)
        if len(groups) == 1 and atoms[0]:
            # x_i, x_{ij}, x_{1i}: one index per letter or number
            indices = [self.symbol(t) if kind == "name" else sp.Integer(t) for kind, t in atoms[0]]
        else:
            indices = [self.close(self.build(g)) for g in groups]
        return self.base(name)[tuple(indices)]

    @staticmethod
    def index_atoms(group):
        """``[("name", "i"), ("num", "1")]`` for a subscript of plain letters and numbers."""
        parts = group.children if group.data == "juxt" else [group]
        atoms = []
        for part in parts:
            if not isinstance(part, Tree):
                return None
            if part.data == "number" and str(part.children[0]).isdigit():
                atoms.append(("num", str(part.children[0])))
            elif part.data == "variable" and len(part.children) == 1:
                atoms.append(("name", str(part.children[0])))
            else:
                return None
        return atoms

    # -- functions --------------------------------------------------------
    def apply(self, name: str, args: list, prime: bool, node):
        canonical = "sigmoid" if name == "sigma" else FUNCTIONS.get(name, name)
        if name in self.functions:
            build, arity = self.functions[name], None
            if prime and len(args) == 1:
                if isinstance(args[0], Symbol):
                    return Derivative(build(args[0]), args[0])
                t = sp.Dummy("t")
                return sp.Subs(Derivative(build(t), t), t, args[0])
            if prime:
                self.error(f"{name}' is only defined for one-argument functions", node)
            return build(*args)
        if canonical == "softmax":
            if len(args) != 1 or prime:
                self.error("softmax takes one vector argument", node)
            return self.softmax(args[0])
        for arg in args:
            self.scalar(arg, f"an argument of {name}", node)
        if canonical == "sqrt":
            build, arity = (lambda a: sp.sqrt(a)), 1
        elif canonical == "min":
            build, arity = (lambda *a: sp.Min(*a)), None
        else:
            entry = OPS[canonical]
            build, arity = entry.sympy, entry.arity
        if arity is None and len(args) < 2:
            self.error(f"{name} takes at least two arguments, got {len(args)}", node)
        if arity is not None and len(args) != arity:
            self.error(f"{name} takes {arity} argument{'s' * (arity != 1)}, got {len(args)}",
                       node)
        if prime:
            if arity != 1:
                self.error(f"{name}' is only defined for one-argument functions", node)
            t = sp.Dummy("t")
            return sp.diff(build(t), t).xreplace({t: args[0]})
        if canonical == "sqrt":
            return self.power(args[0], sp.S.Half, node)
        if canonical == "abs":
            return _abs(args[0])
        at = ", ".join(map(_shown, args))
        return self.defined(build(*args), node, f"{name} has no value at {at}")

    @staticmethod
    def softmax(scores):
        """The softmax of a column (or row) Matrix, entry by entry; of anything else ``softmax(z)`` unevaluated."""
        if isinstance(scores, sp.MatrixBase):
            return sp.ImmutableMatrix(scores.rows, scores.cols, softmax(list(scores)))
        return sp.Function("softmax")(scores)

    def b_call(self, node):
        children = node.children
        prime = children[1].type == "PRIME"
        arguments = children[3 if prime else 2]
        args = [self.close(self.build(c)) for c in arguments.children if isinstance(c, Tree)]
        return self.apply(str(children[0]), args, prime, node)

    def b_call_bare(self, node):
        arg = self.close(self.build(node.children[1]))
        return self.apply(str(node.children[0]), [arg], False, node)

    def b_sqrt(self, node):
        return self.power(self.close(self.build(node.children[2])), sp.S.Half, node)

    def b_root(self, node):
        n = self.close(self.build(node.children[2]))
        x = self.close(self.build(node.children[5]))
        self.scalar(n, "the degree of a root", node)
        self.scalar(x, "under a root", node)
        return self.power(x, 1 / n, node)

    # -- fractions and derivatives ----------------------------------------
    def b_frac(self, node):
        num = self.build(node.children[2])
        den = self.build(node.children[5])
        derivative = self.derivative(num, den, node.children[5], rest_allowed=False)
        if derivative is not None:
            return derivative
        den = self.close(den)
        self.scalar(den, "a denominator", node.children[5])
        self.nonzero_divisor(den, self.quote(node), node.children[5])
        return self.defined(self.close(num) * sp.Pow(den, -1), node, "∞/∞ has no value")

    def derivative(self, num, den, den_node, rest_allowed: bool):
        """``dL/dw`` or ``∂/∂w`` if ``den`` is a differential such as ``dw``; else ``None``."""
        items = den.items if isinstance(den, _Chain) else [den]
        first = items[0] if items else None
        looks_like = isinstance(first, _Differential) or (
            _is_d(first) and len(items) > 1 and _as_variable(items[1]) is not None)
        if not looks_like:
            return None
        variables, i = [], 0
        while i < len(items):
            item = items[i]
            if isinstance(item, _Differential):
                if item.order != 1:
                    self.error("write the order on the variable in a denominator, as in "
                               "\\partial w^2", item.pos)
            elif not (_is_d(item) and i + 1 < len(items) and _as_variable(items[i + 1])):
                break
            found = _as_variable(items[i + 1]) if i + 1 < len(items) else None
            if found is None:
                self.error("∂ in a denominator must be followed by the variable, as in ∂w",
                           den_node)
            variables.append(found)
            i += 2
        rest = items[i:]
        if rest and not rest_allowed:
            self.error("a derivative's denominator holds only the variables, as in "
                       "\\partial w or dw", den_node)
        num_items = list(num.items) if isinstance(num, _Chain) else [num]
        # factors before the differential multiply the derivative: eta ∂L/∂w, -dL/dw
        start = next((k for k, item in enumerate(num_items)
                      if _numerator_order(item) is not None), None)
        coefficient, num_items = num_items[:start], num_items[start:]
        order = _numerator_order(num_items[0]) if num_items else None
        if order is None:
            self.error("this looks like a derivative (the denominator starts with d or ∂) but "
                       "the numerator does not start with d or ∂; for a product write d*w",
                       den_node)
        total = sum(count for _, count in variables)
        if order != total:
            self.error(f"the numerator is a derivative of order {order} but the denominator "
                       f"of order {total}", den_node)
        body = num_items[1:]
        variables = tuple(v if n == 1 else (v, n) for v, n in variables)
        if body:
            result = Derivative(self.close(_Chain(body, _pos(den_node))), *variables)
        else:
            result = _DiffOp(variables, _pos(den_node))
        if coefficient or rest:
            return _Chain([*coefficient, result, *rest], _pos(den_node))
        return result

    # -- sums and products over an index -----------------------------------
    def b_bigop(self, node):
        children = node.children
        prefix = self.build(children[0]) if len(children) == 3 else _Chain([], _pos(node), groups=[])
        kind, limits = self.build(children[-2])
        body = self.close(self.build(children[-1]))
        self.scalar(body, "the body of a sum", children[-1])
        if limits is None:
            limits = self.implied_limits(body, children[-2])
        big = sp.Sum if kind == "sum" else sp.Product
        groups = None if prefix.groups is None else \
            [*prefix.groups, (1, _pos(children[-2]), _end(node))]
        return _Chain([*prefix.items, big(body, *limits)], _pos(node), _end(node), groups)

    def limits(self, big: Token, limits_node: Tree, upper):
        self.scalar(upper, "a bound of a sum", limits_node)
        if limits_node.data == "index_from":
            name, _, lower_node = limits_node.children
            names = [str(name)]
            lower = self.close(self.build(lower_node))
            self.scalar(lower, "a bound of a sum", lower_node)
        else:
            names = [str(t) for t in limits_node.children if t.type == "NAME"]
            lower = sp.S.One
        return str(big), [(self.symbol(n), lower, upper if upper is not None else self.size(n))
                          for n in names]

    def b_bighead_bare(self, node):
        return str(node.children[0]), None

    def implied_limits(self, body, head):
        """The index of ``\\sum x^{(i)} y^{(i)}``: the one index symbol the body's indexed names use."""
        indices = sorted({index for element in body.atoms(Indexed) for index in element.indices
                          if isinstance(index, Symbol)}, key=str)
        if len(indices) != 1:
            found = ", ".join(map(str, indices)) or "none"
            self.error(f"a sum written without an index needs an index, as in "
                       f"\\sum_{{i=1}}^{{N}} x_i or sum_i x_i (its body uses {found})", head)
        return [(indices[0], sp.S.One, self.size(str(indices[0])))]

    def b_bighead(self, node):
        children = node.children
        upper = self.close(self.build(children[6])) if len(children) > 5 else None
        return self.limits(children[0], children[3], upper)

    def b_bighead_upper_first(self, node):
        children = node.children
        upper = self.close(self.build(children[3]))
        return self.limits(children[0], children[7], upper)

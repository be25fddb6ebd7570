r"""Give each statement of a document its verdict, recording definitions in the scope as they come.

A statement is parsed once (:func:`symgrad.parsing.read`, never
``eval``) and sorted by what it says: a definition is recorded, a derivative
or an update rule is checked by :func:`symgrad.verify` against the model the
scope gives, a number to the digits written, a matrix rule by the matrix
verifier (shapes first), any other equation as an identity, each step against
the one before. Anything that cannot be decided is ``unchecked`` with the
reason; a wrong claim is never passed as holding.
"""
from __future__ import annotations

import re
from bisect import bisect_right

import sympy as sp
from sympy import Derivative, Indexed, Symbol
from sympy.core.function import AppliedUndef

from .. import printing
from ..core.model import Model
from ..errors import ClaimError, DerivationError, ModelError, ParseError, ShapeError, SymgradError
from ..parsing import Equation, UpdateRule, read
from ..verification.conditions import distribution_needed
from ..verification.diagnoses import identity_diagnosis
from ..verification.matrix_claims import verify_matrix
from ..verification.ties import tie_mistake
from ..verification.verdict import verify, verify_identity
from .findings import Finding
from .numbers import worked_number, worked_numbers
from .scope import LOSS_NAMES, Definition, Scope, plain_symbols
from .statements import RELATION, Statement, split_sides
from .notation import (BUILTINS, DELTA, FUNCTION_HEAD, INDICATOR, MATRIX_RULE, NABLA, NAMED_RESULT, PRIMED,
                       PRODUCT_TEXT, SHAPE, ambiguous_call, euler_in_word, is_bound, is_index, is_name, kind_of,
                       plain_matrix_text, prose_math, same_free_index, shown, time_step)

__all__ = ["Reader", "DEADLINE"]

ETA, ALPHA = Symbol("eta"), Symbol("alpha")
#: seconds one claim may take before it is left unchecked
DEADLINE = 10.0

def _factors_outside_functions(expr) -> set:
    """The symbols of ``expr`` outside every function's argument: the ``X`` of ``-2X(y - Xw)``, not of ``σ(Xw)``.

    A capital inside an elementwise function's argument is a value; as a factor of a
    derivative it is where scalar and matrix calculus part (Xᵀ against X).
    """
    found, stack = set(), [sp.sympify(expr)]
    while stack:
        node = stack.pop()
        if isinstance(node, Symbol):
            found.add(node)
        elif not isinstance(node, sp.Function):
            stack.extend(node.args)
    return found


def _sums_to_one(sides) -> sp.IndexedBase | None:
    """The array of ``\\sum_i y_i = 1``: its entries are a probability distribution."""
    if len(sides) != 2 or sides[1] != 1 or not isinstance(sides[0], sp.Sum):
        return None
    body, index = sides[0].function, sides[0].limits[0][0]
    if isinstance(body, Indexed) and body.indices == (index,):
        return body.base
    return None


class Reader:
    """Reads one document's statements top to bottom, with a scope of what has been defined."""

    def __init__(self, headings=()):
        self.scope = Scope()
        #: the last side of the last equation read, which a block starting with ``=`` continues
        self.last_side = None
        #: what the parser says could be read otherwise in the statement read now (``1/2x``), and what it read
        self.notes: tuple = ()
        self.parsed = None
        #: whether the statements read now come from a ``symgrad:`` annotation: there a name is (re)defined
        self.annotating = False
        #: claimed first partials of each function with a max or min, by its definition: checked at ties
        self.partials: dict = {}
        #: lines of the document's headings: a name defined again under a new heading is a new example
        self.headings = sorted(headings)

    def section(self, line: int) -> int:
        return bisect_right(self.headings, line)

    # -- entry points -----------------------------------------------------------------

    def statement(self, statement: Statement, source: str | None = None) -> list[Finding]:
        """The findings of one statement (a definition, a claim, or why it is unchecked)."""
        source = source if source is not None else statement.text
        self.notes, self.parsed = (), None
        try:
            found = self._statement(statement, source)
            if any(f.verdict != "defined" for f in found):  # a claim on a definition read with a doubt shares it
                self.notes = tuple(dict.fromkeys(self.notes + self._inherited_notes()))
            ambiguous = ambiguous_call(statement.text, self.scope) or euler_in_word(statement.text)
            for finding in found:
                if finding.verdict == "wrong" and ambiguous:  # never call a claim wrong on a guessed reading
                    finding.verdict, finding.reason = "unchecked", f"{ambiguous} (read as a product, it is wrong)"
                    finding.correction = finding.counterexample = None
                elif finding.verdict == "wrong" and self.notes:  # 1/2x: wrong only as read, say unsure
                    finding.verdict = "unchecked"
                    finding.reason = f"{'; '.join(self.notes)}; read so, it is wrong ({finding.reason})"
                    finding.correction = finding.counterexample = None
                elif self.notes:
                    finding.reason += "; " + "; ".join(self.notes)
            return found
        except ParseError as error:
            if not RELATION.search(statement.text):  # no equation to check: what it says does not matter
                return [self._finding(statement, source, "other", "unchecked",
                                      "not a claim: an expression without '='")]
            return [self._finding(statement, source, kind_of(statement.text), "unchecked",
                                  "notation not understood: " + str(error).splitlines()[0])]
        except (ClaimError, ModelError, DerivationError, ShapeError) as error:
            return [self._finding(statement, source, kind_of(statement.text), "unchecked",
                                  str(error).splitlines()[0])]
        except RecursionError:
            return [self._finding(statement, source, kind_of(statement.text), "unchecked",
                                  "nested too deeply to check")]
        except (ValueError, TypeError, NotImplementedError, ArithmeticError) as error:
            # SymPy refusing a step (a derivative by a number, a comparison it cannot make): say so, go on
            return [self._finding(statement, source, kind_of(statement.text), "unchecked",
                                  f"could not be checked: {' '.join(str(error).split()) or type(error).__name__}")]

    @staticmethod
    def _finding(statement, source, kind, verdict, reason, correction=None, counterexample=None) -> Finding:
        return Finding(statement.line, statement.end_line, source, kind, verdict, reason, correction,
                       counterexample)

    # -- sorting a statement ---------------------------------------------------------------

    def _inherited_notes(self) -> tuple:
        """The reading notes of the definitions the statement just read rests on."""
        parsed = self.parsed
        sides = parsed.sides if isinstance(parsed, Equation) else (parsed.param, parsed.new_value) \
            if isinstance(parsed, UpdateRule) else (parsed,) if parsed is not None else ()
        notes: tuple = ()
        for side in sides:
            for derivative in sp.sympify(side).atoms(Derivative):
                notes += self.scope.notes_of(derivative.expr)
            notes += self.scope.notes_of(side)
        return tuple(dict.fromkeys(notes))

    def _rewrite(self, text: str) -> str:
        """Notes' shorthands written out: ``\\nabla w`` as ∂L/∂w, ``\\Delta w = s`` and ``w' = …`` as rules."""
        text = NAMED_RESULT.sub("", text)  # ``… = \nabla w``: a name for the result, not a claim
        loss = self.scope.loss
        if loss is not None and NABLA.search(text):
            name = printing.latex(loss)
            text = NABLA.sub(lambda m: rf"\frac{{\partial {name}}}{{\partial {m.group(1)}}}", text)
        delta = DELTA.match(text)
        if delta:
            text = rf"{delta.group(1)} \leftarrow {delta.group(1)} + \left({delta.group(2)}\right)"
        primed = PRIMED.match(text)
        if primed and not text[primed.end():].lstrip().startswith("("):
            text = rf"{primed.group(1)} \leftarrow" + text[primed.end():]
        return text

    def _statement(self, statement: Statement, source: str) -> list[Finding]:
        text = statement.text
        shape = SHAPE.match(text)
        if shape:
            name = shape.group(1).lstrip("\\")
            self.scope.matrices[name] = (shape.group(2).strip(), shape.group(3).strip())
            return [self._finding(statement, source, "definition", "defined",
                                  f"{name} is a {shape.group(2).strip()}×{shape.group(3).strip()} matrix")]
        product = self._product(text)
        if product:
            result, left, right = product
            self.scope.products.append(f"{result} = {left} {right}")
            return [self._finding(statement, source, "definition", "defined",
                                  f"{result} is the matrix product {left}{right}")]
        prose = prose_math(text)
        if prose and not (INDICATOR.search(text) and "=" in text):  # 𝟙{x ≥ y} is an inequality inside a claim
            return [self._finding(statement, source, "other", "unchecked", prose)]
        rule = MATRIX_RULE.match(text)
        if rule and any(rule.group(1) in p.replace("=", " ").split() for p in self.scope.products):
            return [self._matrix(statement, source)]
        text = self._rewrite(text)
        if text.lstrip().startswith("=") and self.last_side is not None:
            return self._continued(statement, source, text)
        functions = self.scope.function_names()
        head = FUNCTION_HEAD.match(text)
        new_function = None
        if head and head.group(1).lstrip("\\") not in BUILTINS and len(head.group(1).lstrip("\\")) <= 3:
            new_function = head.group(1).lstrip("\\")
            functions = sorted(set(functions) | {new_function})
        reading = read(text, latex=True, functions=functions or None)
        parsed, self.notes = reading.result, reading.notes
        self.parsed = parsed
        if isinstance(parsed, UpdateRule):
            return [self._update(statement, source, parsed.param, [parsed.new_value])]
        if not isinstance(parsed, Equation):
            return [self._finding(statement, source, "other", "unchecked",
                                  "not a claim: an expression without '='")]
        self.last_side = parsed.sides[-1]
        return self._equation(statement, source, text, parsed, new_function)

    def _continued(self, statement, source, text) -> list[Finding]:
        """A block that starts with ``=``: the next step of the derivation the blocks before began."""
        before = self.last_side
        rest = text.lstrip()[1:]
        reading = read(rest, latex=True, functions=self.scope.function_names() or None)
        parsed, self.notes = reading.result, reading.notes
        self.parsed = parsed
        sides = list(parsed.sides) if isinstance(parsed, Equation) else [parsed]
        texts = ["(continued)"] + split_sides(rest)
        return self._steps(statement, source, " = ".join(texts), [before] + sides, first=0)

    def _equation(self, statement, source, text, parsed: Equation, new_function) -> list[Finding]:
        sides = list(parsed.sides)
        lhs = sides[0]
        if new_function and isinstance(lhs, AppliedUndef) and all(isinstance(a, Symbol) for a in lhs.args):
            self.scope.define(Definition(Symbol(new_function), sides[1], statement.line,
                                         self.section(statement.line), tuple(lhs.args), self.notes))
            found = [self._finding(statement, source, "definition", "defined",
                                   f"{new_function}({', '.join(map(str, lhs.args))}) is defined")]
            return found + self._steps(statement, source, text, sides[1:], first=1)
        if isinstance(lhs, sp.Function) and not isinstance(lhs, AppliedUndef) and len(sides) == 2 \
                and all(isinstance(a, Symbol) for a in lhs.args):
            return [self._builtin_definition(statement, source, lhs, sides[1])]
        if isinstance(lhs, Derivative):
            return self._derivative(statement, source, lhs, sides[1:], text)
        distribution = _sums_to_one(sides)
        if distribution is not None:
            self.scope.distributions[distribution] = statement.line
            return [self._finding(statement, source, "definition", "defined",
                                  f"the {distribution} are a distribution: they sum to 1")]
        if is_name(lhs):
            return self._named(statement, source, text, lhs, sides)
        if len(sides) == 2 and is_name(sides[1]) and not self.scope.is_defined(sides[1]) \
                and sides[1] not in lhs.free_symbols and lhs.free_symbols:
            self.scope.define(Definition(sides[1], lhs, statement.line, self.section(statement.line), notes=self.notes))
            return [self._finding(statement, source, "definition", "defined",
                                  f"{shown(sides[1])} is defined as {shown(lhs)}")]
        return self._steps(statement, source, text, sides, first=0)

    def _builtin_definition(self, statement, source, call, value) -> Finding:
        """``\\sigma(z) = \\frac{1}{1+e^{-z}}``: a definition of a function symgrad knows; it must agree."""
        verdict = verify_identity(value, call, subject=shown(call), deadline=DEADLINE)
        name = type(call).__name__
        if verdict.ok:
            return self._finding(statement, source, "definition", "defined",
                                 f"{shown(call)} = {shown(value)}, as symgrad reads {name}")
        return self._finding(statement, source, "definition", "unchecked",
                             f"this {name} differs from the one symgrad knows ({shown(call.func(Symbol('z')))}), "
                             f"which later formulas are read with: rename it to use your own")

    def _named(self, statement, source, text, name, sides) -> list[Finding]:
        """``name = …``: a definition, an update rule (the name on both sides), a number or an identity."""
        first = sides[1]
        if name in plain_symbols(first) or (isinstance(name, Indexed) and name in first.atoms(Indexed)):
            return [self._update(statement, source, name, sides[1:])]
        step = time_step(name, first)
        if step is not None:
            return [self._update(statement, source, step[0], [s.xreplace({step[1]: step[0]}) for s in sides[1:]])]
        ambiguous = ambiguous_call(text, self.scope) or euler_in_word(text)
        if ambiguous:
            return [self._finding(statement, source, "definition", "unchecked", ambiguous)]
        known = self.scope.lookup(name)
        same_section = known is not None and known.line and self.section(known.line) == self.section(statement.line)
        value = self.scope.closed(name, numbers=True) if known is not None else None
        if known is not None and not known.value.is_number and first.is_number and not value.free_symbols:
            return self._steps(statement, source, text, sides, first=0)  # f = -12: a worked number
        if known is not None and same_section and not first.is_number and not self.annotating:
            # the name again, in the same section: a rewriting of its definition, checked as one;
            # in other terms than it rests on, it is a new definition
            found = self._steps(statement, source, text, sides, first=0)
            if found and found[0].verdict == "wrong" and not known.annotated:
                # read as a rewriting of the definition on line N, as notes mostly mean it; say how to mean otherwise
                found[0].reason += (f" (read as a rewriting of {shown(name)} from line {known.line}; a new example "
                                    "wants a new heading or <!-- symgrad: reset -->)")
            if not (found and found[0].verdict == "unchecked" and "no definition in scope" in found[0].reason):
                return found
        self.scope.define(Definition(name, first, statement.line, self.section(statement.line), notes=self.notes,
                                     annotated=self.annotating))
        what = "a number" if first.is_number else "defined"
        found = [self._finding(statement, source, "definition", "defined",
                               f"{shown(name)} = {shown(first)} ({what})")]
        return found + self._steps(statement, source, text, sides[1:], first=1)

    # -- claims ------------------------------------------------------------------------

    def _steps(self, statement, source, text, sides, first: int) -> list[Finding]:
        """Each side after the first checked against the last side that held: numbers to the digits written.

        A broken step is reported where it stands; the step after it is read
        against the last good side, so a derivation that recovers (a slip
        then the right line) has exactly one wrong step.
        """
        found = []
        texts = split_sides(text)
        good = sides[0]
        for k in range(1, len(sides)):
            index = first + k
            line = statement.lines[index] if index < len(statement.lines) else statement.line
            written = texts[index] if index < len(texts) else ""
            step = Statement(statement.text, line, line, statement.lines, statement.commentary)
            written_as = source if len(sides) == 2 or not written else f"= {written.strip()}"
            finding = self._step(step, written_as, good, sides[k], written, kind="step" if len(sides) > 2 else None)
            found.append(finding)
            if finding.verdict != "wrong":
                good = sides[k]
        self.last_side = good  # a block that starts with "=" continues from here
        return found

    def _step(self, statement, source, before, after, written: str, kind=None) -> Finding:
        opaque = self._opaque(before, after)
        if opaque:
            return self._finding(statement, source, kind or "identity", "unchecked", opaque)
        left = self.scope.closed(before, numbers=True).doit()
        right = self.scope.closed(after, numbers=True).doit()
        if not left.free_symbols and not right.free_symbols:
            return self._number(statement, source, left, right, written)
        unknown = self._undefined(before, after)
        if unknown:
            return self._finding(statement, source, kind or "identity", "unchecked",
                                 f"{', '.join(unknown)} {'has' if len(unknown) == 1 else 'have'} no definition "
                                 "in scope")
        left, right = self.scope.closed(before).doit(), self.scope.closed(after).doit()
        shallow = self.scope.lookup(before).value if is_name(before) and self.scope.lookup(before) else before
        verdict = verify_identity(right, left, subject=f"{shown(after)} = {shown(before)}",
                                  deadline=DEADLINE, diagnose=(after, shallow))
        matrices = self._matrices(before, after)
        if matrices and verdict.ok:  # (AB)ᵀ = AᵀBᵀ holds for numbers
            return self._finding(statement, source, kind or "identity", "unchecked", matrices)
        reason = self._reason(verdict)
        if verdict.status == "wrong":
            reason = self._derivative_slip(before, after) or reason
        return self._from_verdict(statement, source, kind or "identity", verdict, reason)

    def _opaque(self, *exprs) -> str | None:
        """Why a derivative written in a claim cannot be taken from the scope, if one cannot.

        ``∂f_3/∂a_3`` where no definition makes f_3 a function of a_3, or ``dL/dθ``
        where L has no definition, would read as 0 and make any claim about it
        look wrong (or a claim of 0 look right): such a claim is left unchecked.
        """
        known = None
        for expr in exprs:
            for derivative in sp.sympify(expr).atoms(Derivative):
                of = self.scope.read(derivative.expr)
                if is_name(of) and not self.scope.is_defined(of):
                    known = self.scope.known_names() if known is None else known
                    if str(of) in known:  # a variable of the model (the b of wx + b): its derivative is 0 or 1
                        continue
                    return f"{shown(derivative.expr)} has no definition in scope"
                for variable in derivative.variables:
                    written = self.scope.closed(of, keep={variable})
                    if isinstance(variable, Indexed) and variable.base in written.atoms(sp.IndexedBase):
                        continue  # ∂/∂w_j of Σ_i w_i x_i: an entry of an array the expression sums over
                    if variable not in written.free_symbols:
                        return (f"{shown(derivative.expr)} is not defined in terms of {shown(variable)} in scope, "
                                f"so {shown(derivative)} cannot be taken")
        return None

    def _matrices(self, *exprs) -> str | None:
        """Why a claim written with matrices is no scalar claim: ``-2X(y - Xw)`` holds for numbers, not for X.

        A capital that no definition gives a value (X, W, A), a declared
        matrix, or a transpose: scalar calculus cannot tell Xᵀ from X or AB
        from BA, so such a claim is left to the matrix rules (``dB = …`` after
        ``C = AB``) and otherwise unchecked, never passed.
        """
        closed = [self.scope.closed(e) for e in exprs]
        if any(e.has(sp.transpose) or e.atoms(sp.Transpose) for e in closed):
            return ("a matrix formula (it transposes): scalar rules cannot tell Xᵀ from X; symgrad checks matrix "
                    "rules such as dB = …  after C = AB")
        names = {s for e in closed for s in _factors_outside_functions(e) if not is_bound(s, e)}  # not an N of Σ
        capitals = sorted(str(s) for s in names if re.fullmatch(r"[A-Z]\d*", str(s)) and str(s) not in LOSS_NAMES
                          and (not self.scope.is_defined(s) or str(s) in self.scope.matrices))
        if capitals:
            return (f"{', '.join(capitals)} {'is' if len(capitals) == 1 else 'are'} written as a matrix is (a "
                    "capital): scalar rules cannot tell Xᵀ from X or AB from BA; write it element-wise "
                    "(\\sum_j X_{ij} w_j) or as a matrix rule (dB = … after C = AB)")
        return None

    def _unknown(self, claims, rests_on: set) -> list[str]:
        """Names the claims use that the scope does not define and the truth does not rest on.

        An array entry (``x_{ij}``) is known when its array is (``x_{ik}`` is in the model); a
        subscript and a summation index are no names of their own.
        """
        bases = {b.label for s in rests_on if isinstance(s, Indexed) for b in [s.base]} | \
            {s for s in rests_on if isinstance(s, Symbol)}
        names = set()
        for claim in claims:
            for symbol in self.scope.depends_on(claim) - rests_on:
                if isinstance(symbol, Indexed):
                    if symbol.base.label in bases:
                        continue
                elif symbol in bases or is_index(symbol, claim) or is_bound(symbol, claim):
                    continue
                if not self.scope.is_defined(symbol):
                    names.add(shown(symbol))
        return sorted(names)

    def _undefined(self, before, after) -> list[str]:
        """Names the later side brings in that the earlier one does not rest on, and the scope does not know.

        A variable of the model (the x of ``f = wx + b``) is known even where the earlier side
        does not use it: ``∂/∂x(wx) = x`` is then a wrong step, not an unknown name.
        """
        new = self.scope.depends_on(after) - self.scope.depends_on(before) - {ETA, ALPHA}
        known = self.scope.known_names()
        return sorted(shown(s) for s in new if not self.scope.is_defined(s) and str(s) not in known)

    def _wrong_variable(self, written, value, meant=None) -> tuple | None:
        """``(said, meant)`` when the derivatives ``written`` takes by ``said`` give ``value`` only by ``meant``.

        ``∂/∂x(wx) + ∂/∂x(b)`` written where x, the value of ∂/∂w, is meant: the one
        slip behind a wrong side of a derivative (``meant`` is the claim's variable)
        and a wrong step of a derivation (``meant`` is searched among the symbols).
        """
        for derivative in written.atoms(Derivative):
            if len(derivative.variables) != 1:
                continue
            said = derivative.variables[0]
            candidates = [meant] if meant is not None else sorted(
                self.scope.closed(derivative.expr).free_symbols - {said}, key=str)
            for other in (c for c in candidates if c != said):
                swapped = written.xreplace({derivative: Derivative(derivative.expr, other)})
                if sp.simplify(self.scope.closed(swapped).doit() - value) == 0:
                    return said, other
        return None

    def _variable_slip(self, side, variable, of) -> str | None:
        """A side of ∂f/∂w whose written derivatives are by another variable: ``∂f/∂w = ∂/∂x(wx)``."""
        truth = sp.diff(self.scope.closed(of), variable)
        slip = self._wrong_variable(side, truth, meant=variable)
        if slip is None:
            return None
        said, meant = slip
        return (f"this step differentiates by {shown(said)} where the claim is about {shown(meant)}: "
                f"by {shown(meant)} it would be {shown(truth)}, but by {shown(said)} it is "
                f"{shown(self.scope.closed(side).doit())}")

    def _derivative_slip(self, before, after) -> str | None:
        """A step that differentiates by the wrong variable: ``∂/∂x (wx) = x`` means ∂/∂w."""
        slip = self._wrong_variable(before, self.scope.closed(after).doit())
        if slip is None:
            return None
        said, meant = slip
        return (f"the step differentiates by {shown(meant)} where it says {shown(said)}: "
                f"by {shown(said)} it is {shown(self.scope.closed(before).doit())}, not {shown(after)}")

    def _number(self, statement, source, exact, claimed, written: str) -> Finding:
        """A number, vector or matrix of numbers to the digits written (``-\\log(0.7) = 0.35`` is wrong)."""
        judge = worked_numbers if isinstance(exact, sp.MatrixBase) or isinstance(claimed, sp.MatrixBase) \
            else worked_number
        return self._finding(statement, source, "number", *judge(exact, claimed, written))

    def _output_model(self, of, also) -> tuple[Model, sp.Basic]:
        """The model whose output is ``of``, a defined name or an expression of defined names."""
        # a defined name is the output itself; anything else (L_i, σ(z), an expression) is read through the scope
        of = of if isinstance(of, Symbol) and self.scope.is_defined(of) else self.scope.read(of)
        if isinstance(of, Symbol) and of in self.scope.variables:
            return self.scope.model_for(of, also), of
        if isinstance(of, Symbol) and str(of) in self.scope.functions:  # ∂f/∂w of f(x, w, b) = wx + b
            of = self.scope.functions[str(of)].value
        elif isinstance(of, Symbol):
            raise ClaimError(f"{shown(of)} has no definition in scope")
        output = Symbol("_output")
        self.scope.variables[output] = Definition(output, of, 0)
        try:
            return self.scope.model_for(output, also), output
        finally:
            del self.scope.variables[output]

    def _derivative(self, statement, source, derivative: Derivative, sides, text: str = "") -> list[Finding]:
        """A derivative claim, one finding per side: ``∂L/∂w = a = b`` checks a, then b, against ∂L/∂w.

        In a worked example with numbers in scope, a side that is a number
        (``∂f/∂z = q = 3``) is the derivative's value there, to the digits written.
        """
        of = derivative.expr
        if isinstance(of, Indexed) and self.scope.is_defined(of):
            of = self.scope.read(of)
        if isinstance(of, Symbol) and of not in self.scope.variables and str(of) in self.scope.functions:
            of = self.scope.functions[str(of)].value  # ∂f/∂w of f(x, w, b) = wx + b: of its body
        variables = [self.scope.read(v) for v in derivative.variables]
        sides = [self.scope.read(s) for s in sides]
        texts = split_sides(text)[1:] if text else []
        found = []
        for k, side in enumerate(sides):
            line = statement.lines[k + 1] if k + 1 < len(statement.lines) else statement.line
            here = Statement(statement.text, line, line, statement.lines, statement.commentary)
            kind = "derivative" if k == 0 else "step"
            written = texts[k] if k < len(texts) else ""
            if side.is_number and self.scope.numbers():  # a worked backprop number: ∂f/∂x = -4 at x = -2, …
                truth = self.scope.closed(Derivative(of, *variables), numbers=True)
                if not truth.free_symbols:
                    found.append(self._number(here, source if k == 0 else f"= {written.strip()}", truth, side,
                                              written))
                    continue
            if k == 0 and len(sides) > 1 and written and text:
                written_as = f"{split_sides(text)[0].strip()} = {written.strip()}"  # the first claim of a chain
            else:
                written_as = source if k == 0 or not written else f"= {written.strip()}"
            finding = self._derivative_side(here, written_as, derivative, of, variables, side, kind)
            if finding.verdict == "wrong" and k and found[-1].verdict == "wrong" \
                    and verify_identity(self.scope.closed(side), self.scope.closed(sides[k - 1]),
                                        deadline=DEADLINE).ok:
                root = found[-1].reason
                finding.reason = root if root.startswith("the mistake of line") else \
                    f"the mistake of line {found[-1].line} carried forward: {root}"
            elif finding.verdict == "wrong" and len(variables) == 1:
                finding.reason = self._variable_slip(side, variables[0], of) or finding.reason
            found.append(finding)
        if is_name(derivative.expr):
            self.scope.loss = derivative.expr
        return found

    def _derivative_side(self, statement, source, derivative, of, variables, side, kind) -> Finding:
        opaque = self._opaque(side)
        if opaque:
            return self._finding(statement, source, kind, "unchecked", opaque)
        model, output = self._output_model(of, [side])
        rests_on = self.scope.depends_on(of) | set(variables) | {ETA, ALPHA} | set(model.symbols.values())
        unknown = self._unknown([side], rests_on)
        if unknown:
            return self._finding(statement, source, kind, "unchecked",
                                 f"{', '.join(unknown)} {'has' if len(unknown) == 1 else 'have'} no definition "
                                 f"in scope, and {shown(derivative.expr)} does not depend on "
                                 f"{'it' if len(unknown) == 1 else 'them'}")
        matrices = self._matrices(sp.diff(self.scope.closed(of), *variables), side)
        # ∂L_i/∂w names its sample; ∂L/∂w of a per-sample L does not, and is read with the model's index
        if not isinstance(derivative.expr, Indexed):
            (side,) = same_free_index([side], self.scope.closed(of))
        claim = Equation(Derivative(output, *variables), side)
        verdict = verify(claim, model, lr=ETA, deadline=DEADLINE)
        if matrices and verdict.ok:  # right for numbers proves nothing for matrices
            return self._finding(statement, source, kind, "unchecked", matrices)
        if verdict.status == "wrong" and not verdict.diagnosis:  # no known slip: say by how much it is off
            try:
                verdict.diagnosis = identity_diagnosis(self.scope.closed(side).doit(),
                                                       sp.diff(self.scope.closed(of), *variables))
            except (TypeError, ValueError, ZeroDivisionError):
                verdict.diagnosis = None
        reason = self._reason(verdict)
        if matrices and verdict.status == "wrong":  # wrong for 1×1 matrices is wrong for matrices
            reason += " (wrong already for numbers, that is 1×1 matrices)"
        if verdict.status == "wrong" and is_name(derivative.expr):
            reason += self._earlier_definition_note(derivative.expr, claim, variables)
        finding = self._from_verdict(statement, source, kind, verdict, reason)
        if verdict.status == "wrong":
            self._given_a_distribution(finding, of, variables, side)
        if verdict.ok and len(variables) == 1:
            self._check_ties(derivative.expr, variables[0], side, finding)
        return finding

    def _given_a_distribution(self, finding: Finding, of, variables, side) -> None:
        """A claim right only when an array sums to 1 (``p_k - y_k`` for softmax and cross-entropy).

        Stated in the document (``\\sum_i y_i = 1``), it holds under that condition;
        unstated, it is unchecked, with the condition it needs named.
        """
        truth = self.scope.closed(Derivative(of, *variables)).doit()
        base = distribution_needed(self.scope.closed(side).doit(), truth)
        if base is None:
            return
        finding.correction = finding.counterexample = None
        if base in self.scope.distributions:
            finding.verdict = "holds"
            finding.reason = (f"equal at sampled points where the {base} sum to 1, as line "
                              f"{self.scope.distributions[base]} states (observed, not proved)")
        else:
            finding.verdict = "unchecked"
            finding.reason = (f"right only when the {base}_i sum to 1 (a one-hot label or a distribution), which "
                              f"the document does not state: write \\sum_i {base}_i = 1 (or put it in a "
                              "symgrad: annotation) and it is checked under that condition")

    def _check_ties(self, of, variable, claimed, finding: Finding) -> None:
        """Once every partial of a max/min is claimed, check them together at its ties."""
        function = self.scope.closed(of)
        if not function.has(sp.Max, sp.Min):
            return
        key = (of, self.scope.lookup(of).line if self.scope.lookup(of) else None)
        partials = self.partials.setdefault(key, {})
        partials[variable] = self.scope.closed(claimed)
        if not function.free_symbols <= set(partials):
            return
        mistake = tie_mistake(function, partials)
        if mistake:
            finding.verdict, finding.reason = "wrong", mistake
            finding.correction = "at a tie, partials that add up to the rate along the tie (e.g. 1/2 each)"

    def _earlier_definition_note(self, name, claim, variables) -> str:
        """When a wrong derivative is right for an earlier definition of its function: say which differs."""
        current = self.scope.lookup(name)
        for earlier in self.scope.earlier(name):
            if earlier.value == current.value:
                continue
            with self.scope.replaced(earlier):
                try:
                    model, output = self._output_model(name, claim.sides[1:])
                    old = Equation(Derivative(output, *variables), claim.rhs, claim.steps)
                    holds = verify(old, model, lr=ETA, deadline=DEADLINE / 2).ok
                except SymgradError:
                    holds = False
            if holds:
                return (f"; the claim holds for the definition on line {earlier.line}, "
                        f"{shown(name)} = {shown(earlier.value)}: the definition on line {current.line}, "
                        f"{shown(name)} = {shown(current.value)}, differs from it")
        return ""

    def _update(self, statement, source, param, values) -> Finding:
        param = self.scope.read(param)
        values = [self.scope.read(v) for v in values]
        opaque = self._opaque(*values)
        if opaque:
            return self._finding(statement, source, "update_rule", "unchecked", opaque)
        losses = {d.expr for v in values for d in v.atoms(Derivative)}
        loss = next(iter(losses)) if len(losses) == 1 else self.scope.loss
        if loss is None:
            raise ClaimError("no loss in scope: define the loss the rule descends (e.g. L = …) before it")
        lr = ETA if any(ETA in v.free_symbols for v in values) else \
            ALPHA if any(ALPHA in v.free_symbols for v in values) else sp.Integer(1)
        model, output = self._output_model(loss, values)
        loss_value = self.scope.read(loss) if isinstance(loss, Indexed) else \
            self.scope.functions[str(loss)].value if str(loss) in self.scope.functions and \
            loss not in self.scope.variables else loss  # J(θ) = …: the rule descends its body
        rests_on = self.scope.depends_on(loss_value) | set(model.symbols.values()) | {param, lr}
        unknown = self._unknown(values, rests_on)
        if unknown:
            return self._finding(statement, source, "update_rule", "unchecked",
                                 f"{', '.join(unknown)} {'has' if len(unknown) == 1 else 'have'} no definition "
                                 f"in scope (the rule is read as descending {shown(loss)})")
        values = same_free_index(values, self.scope.closed(loss if not isinstance(loss, Indexed) else
                                                             self.scope.read(loss)), keep=param)
        verdict = None
        for value in values:
            verdict = verify(UpdateRule(param, value), model, param, lr=lr, deadline=DEADLINE)
            if verdict.status != "proved" and verdict.status != "observed":
                break
        matrices = self._matrices(sp.diff(self.scope.closed(loss_value), param), *values)
        if matrices and verdict.ok:
            return self._finding(statement, source, "update_rule", "unchecked", matrices)
        return self._from_verdict(statement, source, "update_rule", verdict, self._reason(verdict))

    def _product(self, text: str):
        """``(C, A, B)`` when the statement defines a matrix product: ``C = AB``, ``AB = C``, ``h = Wx``.

        Single capitals are matrices by convention; a small letter counts when a
        shape was declared for one of the three (``x \\in \\mathbb{R}^{n \\times 1}``).
        """
        match = PRODUCT_TEXT.match(text)
        if not match:
            return None
        g = match.groups()
        result, left, right = (g[0], g[1], g[2]) if g[0] else (g[5], g[3], g[4])
        names = (result, left, right)
        if all(n.isupper() for n in names) or any(n in self.scope.matrices for n in names):
            return result, left, right
        return None

    def _matrix(self, statement, source) -> Finding:
        claim = plain_matrix_text(statement.text)
        name = MATRIX_RULE.match(statement.text).group(1)
        product = next(p for p in reversed(self.scope.products) if name in p.replace("=", " ").split())
        verdict = verify_matrix(claim, product)
        return self._from_verdict(statement, source, "matrix", verdict, self._reason(verdict))

    # -- verdicts to findings ------------------------------------------------------------------

    @staticmethod
    def _reason(verdict) -> str:
        if verdict.status == "proved":
            return "proved symbolically"
        if verdict.status == "observed":
            return f"equal at {verdict.points} sampled points (observed, not proved)"
        if verdict.status == "wrong":
            return verdict.diagnosis or "the two sides differ"
        return verdict.diagnosis or "could not be decided"

    def _from_verdict(self, statement, source, kind, verdict, reason) -> Finding:
        status = {"proved": "holds", "observed": "holds"}.get(verdict.status, verdict.status)
        correction = None
        if status == "wrong":
            correction = verdict.expected if isinstance(verdict.expected, str) else shown(verdict.expected)
        counterexample = None
        if verdict.counterexample:
            counterexample = {"point": {str(k): float(v) for k, v in verdict.counterexample.get("point", {}).items()},
                              "claimed": verdict.counterexample.get("claimed"),
                              "correct": verdict.counterexample.get("correct")}
        if verdict.notes and status != "wrong":
            reason += "; " + "; ".join(verdict.notes)
        return self._finding(statement, source, kind, status, reason, correction, counterexample)

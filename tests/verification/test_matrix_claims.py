"""Matrix claims: dimensions checked first (the lecture's advice), then values at random matrices."""
from __future__ import annotations

import pytest

from symgrad.matrix import mlp, model_from_text, parse_matrix, softmax_classifier
from symgrad import verify
from symgrad.errors import ClaimError


def test_the_lectures_matmul_rules():
    # lecture 004: AB = C, dA = dC × Bᵀ (right), dB = dC × Aᵀ (wrong: it cannot even be formed)
    assert verify("dA = dC × B^T".replace("×", "·"), model_from_text("C = A B")).ok
    wrong = verify("dB = dC A^T", model_from_text("C = A B"))
    assert not wrong.ok
    assert wrong.diagnosis.startswith("dC·Aᵀ is undefined: dC is 2×4 and Aᵀ is 3×2")
    assert "dB must be 3×4, the shape of B" in wrong.diagnosis
    assert wrong.expected == "Aᵀ·dC"
    assert verify("dB = A^T dC", model_from_text("C = A B")).ok


def test_free_sizes_are_distinct_so_a_transposed_factor_cannot_fit():
    m = model_from_text("C = A B")
    assert {str(s): m.shapes[s] for s in m.symbols.values()} == {"A": (2, 3), "B": (3, 4), "C": (2, 4)}
    assert not verify("dA = Bᵀ dC", model_from_text("C = A B")).ok


def test_layer_gradients_of_a_classifier():
    m = softmax_classifier(4, 3, hidden=[5])
    assert verify("dL/dW2 = δ2 h1ᵀ", m).ok
    assert verify("dL/dW2 = (p - y) h1^T", m).ok
    assert verify("dL/db1 = W2ᵀ δ2 ⊙ σ'(z1)", m).ok
    assert verify("dL/dW1 = (W2ᵀ (p - y) ⊙ σ'(z1)) xᵀ", m).ok


@pytest.mark.parametrize("claim, diagnosis", [
    ("dL/dW2 = h1 δ2ᵀ", "the claim is 5×3 but dL/dW2 must be 3×5, the shape of W2"),
    ("dL/dW2 = (y - p) h1^T", "sign error"),
    ("dL/dW2 = 2 δ2 h1ᵀ", "extra factor 2"),
    ("dL/db1 = W2ᵀ δ2", "missing the local-derivative factor ⊙ σ'(z1) of h1 = σ(z1)"),
    ("dL/dW1 = δ1 x", "δ1·x is undefined: δ1 is 5×1 and x is 4×1"),
])
def test_wrong_classifier_gradients_are_diagnosed(claim, diagnosis):
    verdict = verify(claim, softmax_classifier(4, 3, hidden=[5]))
    assert not verdict.ok
    assert verdict.diagnosis.startswith(diagnosis)


def test_batch_claims_with_the_ones_vector():
    m = mlp([4, 5, 3], "relu", loss="squared_error", batch=True)
    assert verify("dL/dW1 = δ1ᵀ X", m).ok
    assert verify("dL/db2 = δ2^T 1", m).ok
    assert verify("dL/dW2 = (Z2 - Y)ᵀ H1 / N", m).ok
    assert verify("dL/db2 = δ2 1", m).diagnosis == "the claim is N×1 but dL/db2 must be 3×1, the shape of b2"


def test_claims_are_parsed_not_evaluated():
    assert parse_matrix("A.T @ dC") == ("mul", ("T", ("sym", "A")), ("sym", "dC"))
    for hostile in ["__import__('os')", "A; B", "dC[0]", "A ** B"]:
        with pytest.raises(ClaimError):
            verify(f"dB = {hostile}", model_from_text("C = A B"))
    with pytest.raises(ClaimError, match="unknown name 'D'"):
        verify("dB = A^T D", model_from_text("C = A B"))
    with pytest.raises(ClaimError, match="must read dX or dL/dX"):
        verify("B = A^T dC", model_from_text("C = A B"))

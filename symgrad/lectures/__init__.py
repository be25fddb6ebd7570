"""The lectures symgrad is built from: the lectures as documents (checked from their text), their worked examples and the HTML report."""
from .catalog import EXAMPLES, Example, example, model

__all__ = ["EXAMPLES", "Example", "example", "model"]

"""The lectures symgrad is built from: their worked examples, their slide claims and the HTML report."""
from .catalog import EXAMPLES, Example, example, model

__all__ = ["EXAMPLES", "Example", "example", "model"]

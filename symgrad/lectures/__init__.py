"""The lectures symgrad is built from: their documents (checked from the text), worked examples and report."""
from .catalog import EXAMPLES, Example, example, model

__all__ = ["EXAMPLES", "Example", "example", "model"]

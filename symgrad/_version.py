"""The version of symgrad, in one place (read by pyproject.toml and written into generated modules)."""

__version__ = "0.1.0"

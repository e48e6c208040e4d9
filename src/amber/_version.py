"""The version of Amber (one place; ``amber.__version__`` and the exports read it)."""

__version__ = "0.1.0"

"""The ``clv`` command: :func:`main` (:mod:`clv.cli.commands`) and its options
(:mod:`clv.cli.options`)."""

from clv.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]

"""Coverage-guided fuzzing of every parser that takes bytes from outside (docs/fuzzing.md).

``python -m fuzz TARGET [--runs N]``, ``python -m fuzz --all``, ``python -m fuzz --replay``. Each target
is a function of one input (bytes) and declares the exception types that are its parser's typed errors:
anything else it raises is a finding, and so is an input that runs past the per-input time bound or the
memory bound. Nothing in the product, the stand-ins or the harness imports this package.

This module imports nothing of the product, so that the fuzzing worker can instrument the product's
modules as they are first imported.
"""

"""The console script: a fast path for ``render``/``validate``, the Typer app, output formatting.

Nothing in tfgen imports this package; it only parses arguments and calls :mod:`tfgen.api`
and the layers under it.
"""

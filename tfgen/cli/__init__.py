"""The command line: parses arguments, calls :mod:`tfgen.api`, prints; nothing in tfgen imports it.

==========  ==========================================================================
module      what
==========  ==========================================================================
main        the console script: the fast parser first, else Typer
fast        the fast parser: ``render`` / ``validate`` / ``--version`` without Typer
commands    the command bodies both paths share, and the one error funnel (``run_command``)
app         the Typer app: every command and option, help, usage errors, completion, prompts
output      what the deploy and runbook commands print
==========  ==========================================================================

Imports go one way: ``main`` → ``fast`` → ``commands`` ← ``output`` ← ``app``, and ``main``
imports ``app`` only when the fast parser declines.
"""

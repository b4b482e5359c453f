"""The terraform driver: the only package that starts terraform.

Modules, one job each (as pulumi's automation API keeps its runner, errors, events and
operations apart):

* :mod:`~tfgen.terraform.commands` — :class:`~tfgen.terraform.commands.Terraform`, the commands
  (init, plan, apply, destroy, output, state pull, validate, fmt)
* :mod:`~tfgen.terraform.argv` — their command lines, built by python-terraform
* :mod:`~tfgen.terraform.process` — start terraform, stream its output, forward signals, stop it
* :mod:`~tfgen.terraform.events` — its ``-json`` output lines as events
* :mod:`~tfgen.terraform.results` — what it reported: diagnostics, plan and apply results, outputs
* :mod:`~tfgen.terraform.errors` — failed commands as typed errors
* :mod:`~tfgen.terraform.version` — the minimum version and the version cache
* :mod:`~tfgen.terraform.config` — settings, the child's environment, CLI config, plugin cache
"""

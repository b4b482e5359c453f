"""Code generation: the module's interface, HCL values, Jinja templates, Checkov findings, file writing.

Never starts a process: it imports nothing of ``terraform``, ``deploy``, ``ops`` or ``emulator``.
"""

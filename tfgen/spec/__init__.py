"""The spec language: YAML source with lines, typed records, the model, its rules, environments.

Records (``record``, ``validation``, ``jsonschema``) → field types (``fields``) → the spec's
records (``model``) → cross-field rules (``rules``) → wording (``messages``) → ``loading``.

Imports nothing of tfgen but :mod:`tfgen.errors`.
"""

"""The spec language: YAML source with lines, typed records, the model, its rules, environments.

Imports nothing of tfgen but :mod:`tfgen.errors`.
"""

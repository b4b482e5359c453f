"""Deploying a spec: working directories, backends and state, plan/apply/destroy, fleets, progress."""

"""Secrets, below every app: encryption at rest, sealed fields, the one masking rule.

Imports nothing of ours but ``core``: every app may use it, and audit entries,
pages and the API mask through it.
"""

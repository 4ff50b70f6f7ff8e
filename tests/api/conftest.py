"""API actors live in tests/conftest.py (``api``, ``other_api``): other suites speak to /v1/ too."""

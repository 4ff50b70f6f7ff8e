"""Development tooling: demo data, demo logins and the benchmark.

Installed only with DEBUG on or ``SWITCHBOARD_DEVTOOLS=true`` (config.settings),
and left out of the wheel (pyproject.toml): production never has these commands.
"""

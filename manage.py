#!/usr/bin/env python
"""Django's command-line utility in a checkout; the logic is in config/manage.py."""

from config.manage import main

main()

"""The Jinja2 environment (``TEMPLATES[1]["OPTIONS"]["environment"]``): Django's
defaults plus the helpers the rows share with the Django templates."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from console.times import time_tag


def environment(**options: Any) -> Environment:
    """``timestamp(moment)`` is ``{{ moment|timestamp }}`` of the Django templates."""
    env = Environment(**options)  # noqa: S701 - settings pass autoescape=True
    env.globals["timestamp"] = time_tag
    return env

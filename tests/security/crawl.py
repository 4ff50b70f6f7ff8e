"""Walk every URL pattern of the project, filling its parameters from real objects.

Used by the leak and authorization tests: a new page is crawled without
anyone remembering to add it; a pattern whose parameters cannot be filled
fails loudly instead of being skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, reverse


@dataclass(frozen=True)
class Route:
    name: str  # namespaced: "numbers:detail", "admin:agents_agent_change", "" if unnamed
    url: str


def _patterns(resolver: URLResolver, namespace: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, ns)
        else:
            yield (f"{namespace}{entry.name}" if entry.name else ""), entry


def _admin_object(name: str) -> Any:
    """The object an admin URL like admin:agents_agent_change is about."""
    label = name.split(":", 1)[1]
    for model in apps.get_models():
        prefix = f"{model._meta.app_label}_{model._meta.model_name}_"
        if label.startswith(prefix):
            return model._default_manager.order_by("pk").first()
    raise LookupError(name)


def routes(objects: dict[str, Any]) -> list[Route]:
    """One concrete URL per named pattern, parameters taken from ``objects``.

    ``objects`` maps a dashboard URL name prefix to the object whose pk fills
    ``<pk>`` (numbers: a number, agents:detail: an agent...).
    """
    found: list[Route] = []
    seen: set[str] = set()
    for name, pattern in _patterns(get_resolver()):
        if not name:
            continue
        if name in seen:
            continue
        seen.add(name)
        params = list(pattern.pattern.converters) or _regex_groups(pattern)
        kwargs: dict[str, Any] | None = {}
        for param in params:
            if param == "pk":
                kwargs["pk"] = (
                    objects[name].pk if name in objects else objects[name.split(":")[0]].pk
                )
            elif param == "object_id":
                obj = _admin_object(name)
                if obj is None and name.startswith("admin:axes_"):
                    kwargs = None  # django-axes' own log tables may be empty: nothing to show
                    break
                if obj is None:
                    raise AssertionError(f"no object to crawl {name}: create one in the fixture")
                kwargs["object_id"] = obj.pk
            elif param == "id" and name.endswith("_password_change"):
                # Django's UserAdmin names this URL auth_user_... whatever the user model.
                from django.contrib.auth import get_user_model

                kwargs["id"] = get_user_model().objects.order_by("pk").first().pk
            elif param == "app_label":
                kwargs["app_label"] = "agents"
            elif param in ("content_type_id",):
                kwargs = {}
                break
            else:
                raise AssertionError(
                    f"Cannot fill <{param}> of {name}: teach tests/security/crawl.py"
                )
        if name == "admin:view_on_site" or kwargs is None:
            continue
        found.append(Route(name, reverse(name, kwargs=kwargs)))
    return found


def _regex_groups(pattern: URLPattern) -> list[str]:
    regex = pattern.pattern.regex
    return list(regex.groupindex)

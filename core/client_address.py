"""The client's address: the one rule for every use of it (django-axes' lockouts).

``TRUSTED_PROXY_COUNT`` is how many proxies in front of the app append to
``X-Forwarded-For`` (a load balancer: 1). Each appends the address it saw,
so the client's address is the N-th entry from the RIGHT: the rightmost one
no proxy of ours could have written it. Everything left of it came from the
client and may be forged, so it is never used. With 0 (the default) the
header is ignored and the address is the socket's (``REMOTE_ADDR``); so is
it when the header is shorter than N or its entry is not an IP address (the
request did not come through our proxies as configured).

django-axes 8 would read ``AXES_IPWARE_*`` settings only with django-ipware
installed, and without it silently uses ``REMOTE_ADDR``: behind a proxy that
locks out the proxy. Hence this function, named in ``AXES_CLIENT_IP_CALLABLE``.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    """The address of the client that sent ``request``, by the rule above."""
    remote_addr = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote_addr
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < count:
        return remote_addr
    candidate = entries[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr

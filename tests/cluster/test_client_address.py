"""Behind the cluster's balancer, a failed sign-in is keyed on the address HAProxy saw.

HAProxy (``option forwardfor``) appends the client's address to X-Forwarded-For and
the app servers trust one proxy (``TRUSTED_PROXY_COUNT=1``, core.client_address). The
client here connects from 127.0.0.2 (all of 127/8 is this machine's loopback), HAProxy
from 127.0.0.1: the address recorded must be 127.0.0.2, neither the balancer's own
(no proxy trusted) nor the one the client wrote itself into the header (the leftmost).
"""

from __future__ import annotations

import http.client
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import pytest

from tests.cluster.harness import HTTP_TIMEOUT, Cluster, World

pytestmark = pytest.mark.cluster

CLIENT = "127.0.0.2"
FORGED = "203.0.113.66"


def _request(
    url: str, method: str, body: str | None = None, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port, timeout=HTTP_TIMEOUT, source_address=(CLIENT, 0)
    )
    connection.request(method, parts.path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_address_recorded_is_the_one_the_balancer_saw(cluster: Cluster, world: World) -> None:
    login = f"{cluster.balancer}/login/"
    page = _request(login, "GET", headers={"X-Forwarded-For": FORGED})
    cookie = SimpleCookie(page.headers["Set-Cookie"])
    csrf = cookie["csrftoken"].value
    refused = _request(
        login,
        "POST",
        body=urlencode(
            {"username": world.admin, "password": "not-the-password", "csrfmiddlewaretoken": csrf}
        ),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
            "X-Forwarded-For": FORGED,
        },
    )
    assert refused.status == 200  # the form again, with its error

    recorded = cluster.sql(
        "primary",
        "SELECT DISTINCT host(ip_address) FROM axes_accessattempt WHERE username = %s",
        (world.admin,),
    )
    assert recorded == [(CLIENT,)]

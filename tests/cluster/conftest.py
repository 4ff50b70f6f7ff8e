"""Tests marked ``cluster`` run against a real topology, never in ``make test``.

``make test-cluster`` starts one (``scripts/cluster.py up --free-ports``) and points
``SWITCHBOARD_CLUSTER`` at its ``cluster.json``; without that variable every test
here is skipped, saying so. With it set but the file missing, they fail: CI asked
for the cluster and did not get one.

Nothing here uses pytest-django's database fixtures: the fixtures are made in the
cluster's own database (``harness.make_world``), and the test database pytest-django
would create is never touched.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cluster.harness import ENV_VARIABLE, Cluster, World, make_world

SKIP_REASON = (
    f"needs a running cluster: `make test-cluster` (scripts/cluster.py up, then {ENV_VARIABLE}"
    "=<cluster dir>/cluster.json)"
)
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a cluster, the tests marked ``cluster`` are skipped (each module here
    sets ``pytestmark = pytest.mark.cluster``; one that forgot is marked here too)."""
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        in_here = HERE in Path(str(item.path)).resolve().parents
        if in_here and item.get_closest_marker("cluster") is None:
            item.add_marker(pytest.mark.cluster)
        if item.get_closest_marker("cluster") is not None and not os.environ.get(ENV_VARIABLE):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    path = Path(os.environ[ENV_VARIABLE])
    if not path.is_file():
        pytest.fail(f"{ENV_VARIABLE}={path}: no such file (is the cluster up?)", pytrace=False)
    return Cluster.load(path)


@pytest.fixture(scope="session")
def world(cluster: Cluster) -> World:
    """Staff, a customer, numbers and tokens shared by the tests that only read them."""
    return make_world(cluster, numbers=20, tokens=2, label="shared")

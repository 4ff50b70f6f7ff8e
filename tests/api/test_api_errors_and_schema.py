"""JSON errors everywhere under /v1/, the OpenAPI schema and its offline docs."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_routes_are_a_json_404(api):
    response = api.get("/v1/numbers/lists")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", "/v1/numbers/list"),
        ("delete", "/v1/numbers"),
        ("get", "/v1/numbers/update"),
        ("post", "/v1/agents/list"),
    ],
)
def test_wrong_methods_are_a_json_405(api, method, path):
    response = getattr(api.client, method)(path, HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_the_schema_documents_every_operation_bounds_and_the_bearer_scheme(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema = json.loads(response.content)
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == {
        ("/v1/numbers/list", "get"),
        ("/v1/numbers", "get"),
        ("/v1/numbers/update", "post"),
        ("/v1/agents/list", "get"),
        ("/v1/agents", "get"),
    }
    params = {p["name"]: p for p in schema["paths"]["/v1/numbers/list"]["get"]["parameters"]}
    assert params["size"]["schema"]["maximum"] == 100 and params["size"]["schema"]["minimum"] == 1
    assert set(params["sort_column"]["schema"]["enum"]) >= {"number", "label", "updated_at"}
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    number = schema["components"]["schemas"]["NumberOut"]["properties"]
    assert {"inbound_agent", "telephony_account_connection", "inbound_agent_name"} <= set(number)
    responses = schema["paths"]["/v1/numbers/list"]["get"]["responses"]
    assert {"200", "401", "422"} <= set(responses)


def test_the_docs_page_is_served_without_a_cdn(client):
    body = client.get("/v1/docs").content.decode()
    assert "swagger-ui" in body
    assert (
        "cdn" not in body.lower()
        and "https://" not in body.split("<body", 1)[-1].split("url:", 1)[0]
    )
    assert "/static/drf_spectacular_sidecar/" in body

"""Health, the open classifier endpoint, request size limits and the OpenAPI description."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.core.db import get_session, make_engine
from app.main import create_app
from app.services.taxonomy import CATEGORY_LABELS, Category, Severity
from tests.conftest import test_settings


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_healthz_503_when_the_database_does_not_answer():
    # A real engine pointed at a port where nothing listens.
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/test", connect_args={"connect_timeout": 2}
    )

    def session():
        with Session(engine) as s:
            yield s

    app = create_app(test_settings())
    app.dependency_overrides[get_session] = session
    client = TestClient(app)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] != "ok"
    # Liveness leaves the database out: an outage must not restart the process.
    assert client.get("/livez").json() == {"status": "ok"}
    engine.dispose()


@pytest.mark.parametrize(
    "text",
    ["导游一路上骂骂咧咧，态度特别差", "航班延误了八个小时没人管", "我的行李箱在机场丢了", "😀", "a" * 4000],
)
def test_classify_is_open_and_returns_the_contract(client, text):
    response = client.post("/classify", json={"text": text})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["category"] in {c.value for c in Category}
    assert body["category_label"] == CATEGORY_LABELS[Category(body["category"])]  # the bot shows it
    assert body["severity"] in {s.value for s in Severity}
    assert body["department"] and body["department_name"] and body["authority_level"] in (1, 2)
    assert 0.0 <= body["confidence"] <= 1.0 and isinstance(body["reasons"], list)


@pytest.mark.parametrize(
    ("text", "category", "severity"),
    [
        ("有陌生人一直敲我们酒店房门", "safety", "urgent"),
        ("酒店房间有蟑螂，要求换房", "accommodation", "general"),
    ],
)
def test_classify_treats_a_threat_going_on_now_as_urgent_safety(client, text, category, severity):
    body = client.post("/classify", json={"text": text}).json()
    assert (body["category"], body["severity"]) == (category, severity), body
    assert body["department"] == ("security" if category == "safety" else "operations")


@pytest.mark.parametrize("body", [{"text": ""}, {}, {"text": "x" * 4001}, {"words": "hi"}])
def test_classify_validates(client, body):
    response = client.post("/classify", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "text"]


def test_bodies_over_64_kib_are_413(client, service):
    big = {"text": "投" * 30000}  # 90 KB of UTF-8
    assert client.post("/classify", json=big).status_code == 413
    assert client.post("/tickets", json={"description": "x" * 70000}, headers=service).status_code == 413


def test_streamed_bodies_over_the_limit_are_413(client):
    def chunks():
        for _ in range(100):
            yield b"x" * 1024

    response = client.post("/classify", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_openapi_describes_every_endpoint(client):
    spec = client.get("/openapi.json").json()
    expected = {
        ("get", "/healthz"),
        ("post", "/classify"),
        ("post", "/auth/login"),
        ("get", "/bookings/{ref}"),
        ("post", "/bookings/{ref}/verify"),
        ("post", "/tickets"),
        ("get", "/tickets"),
        ("get", "/tickets/{ticket_no}"),
        ("post", "/tickets/{ticket_no}/verify"),
        ("post", "/tickets/{ticket_no}/transitions"),
        ("post", "/tickets/{ticket_no}/notes"),
        ("put", "/tickets/{ticket_no}/result"),
        ("patch", "/tickets/{ticket_no}/feedback"),
        ("put", "/tickets/{ticket_no}/delay"),
        ("put", "/tickets/{ticket_no}/compensation"),
        ("get", "/stats"),
    }
    present = {(method, path) for path, item in spec["paths"].items() for method in item}
    assert expected <= present
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), (method, path)
            if set(operation["responses"]) & {"200", "201"} == set() and "204" in operation["responses"]:
                continue  # documented as answering without a body
            ok = operation["responses"].get("200") or operation["responses"].get("201")
            assert ok and ok.get("content"), (method, path)
    assert client.get("/docs").status_code == 200


def test_demo_page_and_static_folder_are_mounted(client):
    from app.main import STATIC

    page = client.get("/")
    if (STATIC / "index.html").is_file():
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    else:
        assert page.status_code == 404
    assert client.get("/static/does-not-exist.js").status_code == 404


def test_production_refuses_development_secrets(monkeypatch):
    from app.core.config import Settings

    with pytest.raises(ValueError, match="API_SERVICE_TOKEN"):
        Settings(app_env="production")
    ok = Settings(
        app_env="production",
        api_service_token="s" * 32,
        agent_initial_password="a-strong-one",
        supervisor_initial_password="another-strong-one",
        verify_grant_secret="g" * 32,
    )
    assert ok.app_env == "production" and not ok.seeds_demo_data  # demo bookings: development only
    with pytest.raises(ValueError, match="VERIFY_GRANT_SECRET"):
        Settings(
            app_env="production",
            api_service_token="s" * 32,
            agent_initial_password="a-strong-one",
            supervisor_initial_password="another-strong-one",
        )


def test_relative_sqlite_urls_resolve_against_the_repository_root():
    from app.core.config import REPO_ROOT, Settings

    assert (
        Settings(database_url="sqlite:///var/tickets.db").sqlalchemy_url
        == f"sqlite:///{REPO_ROOT / 'var' / 'tickets.db'}"
    )
    assert Settings(database_url="sqlite:////tmp/x.db").sqlalchemy_url == "sqlite:////tmp/x.db"
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert Settings(database_url=pg).sqlalchemy_url == pg

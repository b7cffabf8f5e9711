"""servicekit: the start-up check every service runs and the masking on every log handler."""

from __future__ import annotations

import io
import logging

import pytest

import servicekit
from tests.services import ROOT

DEV = {"RASA_JWT_SECRET": "dev-rasa-jwt-secret", "ACTION_SERVER_TOKEN": "dev-action-server-token"}
REAL = {"RASA_JWT_SECRET": "r" * 40, "ACTION_SERVER_TOKEN": "a" * 40}
REQUIRED = ["RASA_JWT_SECRET", "ACTION_SERVER_TOKEN"]


def test_the_api_carries_an_identical_copy():
    # One check for every service: the API (own environment) ships a byte-identical copy.
    assert (ROOT / "api" / "app" / "core" / "servicekit.py").read_bytes() == (
        ROOT / "servicekit.py"
    ).read_bytes()


def test_app_env_unset_is_production_and_refuses_development_secrets():
    with pytest.raises(servicekit.InsecureConfiguration, match="ACTION_SERVER_TOKEN, RASA_JWT_SECRET"):
        servicekit.check_environment("Rasa server", REQUIRED, environ=dict(DEV))
    with pytest.raises(servicekit.InsecureConfiguration, match="unset, i.e. production"):
        servicekit.check_environment("Rasa server", REQUIRED, environ=dict(DEV))


@pytest.mark.parametrize("app_env", ["production", "staging", "test", "Production"])
def test_any_other_app_env_refuses_them_too(app_env):
    with pytest.raises(servicekit.InsecureConfiguration):
        servicekit.check_environment("x", REQUIRED, environ={**DEV, "APP_ENV": app_env})


def test_only_explicit_development_allows_them():
    servicekit.check_environment("x", REQUIRED, environ={**DEV, "APP_ENV": "development"})


def test_missing_secrets_are_refused_and_real_ones_pass():
    with pytest.raises(servicekit.InsecureConfiguration, match="ACTION_SERVER_TOKEN"):
        servicekit.check_environment("x", REQUIRED, environ={"RASA_JWT_SECRET": "r" * 40})
    servicekit.check_environment("x", REQUIRED, environ=dict(REAL))


def test_other_secret_looking_variables_with_development_values_are_refused():
    with pytest.raises(servicekit.InsecureConfiguration, match="WECHAT_APP_SECRET"):
        servicekit.check_environment(
            "x", REQUIRED, environ={**REAL, "WECHAT_APP_SECRET": "dev-wechat-secret"}
        )


def test_the_jwt_is_what_rasa_accepts():
    import jwt  # PyJWT, which sanic-jwt uses to check Rasa's tokens

    token = servicekit.rasa_admin_jwt("s" * 32, "ticketing-api")
    payload = jwt.decode(token, "s" * 32, algorithms=["HS256"])
    assert payload["user"] == {"username": "ticketing-api", "role": "admin"}
    assert payload["exp"] > payload["iat"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "x" * 32, algorithms=["HS256"])


@pytest.fixture
def root_stream():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream, handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_masking_on_handlers_reaches_child_and_third_party_loggers(root_stream):
    stream, handler = root_stream
    servicekit.install_log_masking()
    assert any(isinstance(f, servicekit.MaskingFilter) for f in handler.filters)
    # A filter on the "app" logger would miss both of these (records of child loggers and
    # of httpx never pass through the "app" logger's filters).
    logging.getLogger("app.services.deep.child").info("traveller 13812345678 called")
    logging.getLogger("httpx").info("GET /bookings?phone=13912345678 id 110101199003071234")
    text = stream.getvalue()
    assert "13812345678" not in text and "138****5678" in text
    assert "13912345678" not in text and "139****5678" in text
    assert "110101199003071234" not in text and "1234" in text


def test_tracebacks_are_masked_too(root_stream):
    stream, _ = root_stream
    servicekit.install_log_masking()
    try:
        raise ValueError("bad phone 13812345678")
    except ValueError:
        logging.getLogger("rasa_sdk.executor").exception("action failed")
    assert "13812345678" not in stream.getvalue()
    assert "138****5678" in stream.getvalue()


def test_installing_twice_adds_one_filter(root_stream):
    _, handler = root_stream
    servicekit.install_log_masking()
    servicekit.install_log_masking()
    assert sum(isinstance(f, servicekit.MaskingFilter) for f in handler.filters) == 1


@pytest.mark.parametrize(
    "text, number",
    [
        ("3", 3),
        ("三", 3),
        ("两", 2),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("四十五", 45),
        (" 七 ", 7),
        ("二三十", None),  # a range, not a number
        ("十二三", None),
        ("百", None),
        ("三天", None),
        ("", None),
    ],
)
def test_chinese_numbers_small_and_exact(text, number):
    assert servicekit.chinese_number(text) == number

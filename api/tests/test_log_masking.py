"""The API's logs: masking on every handler, so child loggers and httpx are masked too."""

from __future__ import annotations

import io
import logging

from app.core import servicekit
from app.main import install_log_filter


def test_child_and_third_party_loggers_are_masked():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        install_log_filter()
        # A filter on the named logger "app" never saw these two.
        logging.getLogger("app.services.workflow").info("calling back 13912345678")
        logging.getLogger("httpx").info("HTTP Request: GET http://rasa/conversations/13812345678/tracker")
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    text = stream.getvalue()
    assert "13912345678" not in text and "139****5678" in text
    assert "13812345678" not in text and "138****5678" in text


def test_one_filter_per_handler_with_the_apis_mask():
    from app.services.masking import mask_log_line

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(servicekit.MaskingFilter())  # as if servicekit's default came first
    root = logging.getLogger()
    root.addHandler(handler)
    old = root.level
    root.setLevel(logging.INFO)
    try:
        install_log_filter()
        install_log_filter()  # again, as at every start-up: still one
        masking = [f for f in handler.filters if isinstance(f, servicekit.MaskingFilter)]
        assert len(handler.filters) == 1 and len(masking) == 1 and masking[0].mask is mask_log_line
        # mask_text's own cases reach the log: a name after a cue word, an e-mail address.
        logging.getLogger("app.api").info("traveller wrote: 我叫欧阳娜娜，邮箱 zhangwei@qq.com")
        # and servicekit's cases that mask_text alone lets through (a number glued to letters).
        logging.getLogger("app.api").info("id: ID110105199003071234 sfz:11010519901307123X")
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
    text = stream.getvalue()
    assert "欧阳娜娜" not in text and "zhangwei@qq.com" not in text and "z***@qq.com" in text
    assert "110105199003071234" not in text and "11010519901307123X" not in text


def test_unset_app_env_is_production():
    assert not servicekit.is_development(None) and not servicekit.is_development("")
    assert servicekit.is_development("development")


def test_settings_refuse_development_secrets_when_app_env_is_unset(monkeypatch):
    import pytest

    from app.core.config import Settings

    monkeypatch.delenv("APP_ENV", raising=False)
    with pytest.raises(ValueError, match="unset, i.e. production"):
        Settings()
    with pytest.raises(ValueError, match="API_SERVICE_TOKEN"):
        Settings(app_env="staging")
    assert Settings(app_env="development").api_service_token.startswith("dev-")


def test_the_api_refuses_to_start_with_the_development_rasa_secret_outside_development(monkeypatch):
    import pytest
    from fastapi.testclient import TestClient

    from app.main import create_app
    from tests.conftest import test_settings

    # RASA_JWT_SECRET from the environment, as in a deployment; the app checks the settings it
    # was created with (production here), at start-up.
    monkeypatch.setenv("RASA_JWT_SECRET", "dev-rasa-jwt-secret")
    settings = test_settings(
        app_env="production", api_service_token="p" * 24, verify_grant_secret="production-grant-secret"
    )
    assert settings.rasa_jwt_secret == "dev-rasa-jwt-secret"
    with pytest.raises(ValueError, match="RASA_JWT_SECRET"):
        with TestClient(create_app(settings)):
            pass

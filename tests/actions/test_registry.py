"""The action server must start: every action rasa-sdk finds must have a name in the domain."""

from __future__ import annotations

import yaml
from rasa_sdk.executor import ActionExecutor

from tests.services import ROOT


def test_every_registered_action_is_in_the_domain():
    executor = ActionExecutor()
    executor.register_package("actions")
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    declared = set(domain["actions"])
    registered = set(executor.actions)
    assert registered, "no action registered"
    assert registered <= declared | {"action_listen"}, registered - declared
    assert declared <= registered, declared - registered

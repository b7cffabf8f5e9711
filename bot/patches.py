"""Fixes to Rasa 3.6 internals, applied when the `bot` package is imported.

Custom-action responses: `RemoteAction._validate_action_result` calls
`jsonschema.validate()`, which validates the *response schema* against the
Draft 2020-12 meta-schema on every call before validating the response. With
20 concurrent conversations that meta-schema check was 41 % of the Rasa
server's CPU (py-spy, see README "Figures"). The schema never changes, so it is
checked once and one validator is reused: same verdict, same ValidationError.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Text

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def action_response_validator() -> Validator:
    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)
    return cls(spec)


def _validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    try:
        action_response_validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise e


def apply() -> None:
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]

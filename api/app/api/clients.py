"""Dependencies for the app's outside clients: Rasa, the typing relay and the notifier, each
built from the settings given to create_app (core/clients.py). Tests override the providers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.deps import SessionDep
from app.core.clients import clients_of
from app.services.notifier import Notifier, notifier_for
from app.services.rasa_client import RasaClient, get_rasa_client
from app.services.typing_relay import TypingRelay, get_typing_relay

RasaDep = Annotated[RasaClient, Depends(get_rasa_client)]
TypingDep = Annotated[TypingRelay, Depends(get_typing_relay)]


def get_notifier(request: Request, session: SessionDep, rasa: RasaDep) -> Notifier | None:
    """The notifier of the request: its database, the app's Rasa client and settings (None when
    NOTIFIER_ENABLED is false)."""
    return notifier_for(session, rasa, clients_of(request))


NotifierDep = Annotated[Notifier | None, Depends(get_notifier)]

"""The reference the suite compares avm's commands with: a minimal Litestar app that appends one
event per POST with the stock eventsourcing `Application` and the stock PostgreSQL recorder.

Nothing of avm is used. The persistence settings are the library's own environment variables,
which bench/suite.py sets (on its own database, `reference`, of the same embedded server):

    PERSISTENCE_MODULE=eventsourcing.postgres  CREATE_TABLE=y
    POSTGRES_DBNAME=reference  POSTGRES_HOST=<socket dir>  POSTGRES_PORT=<port>
    POSTGRES_USER=postgres  POSTGRES_PASSWORD=  POSTGRES_POOL_SIZE=<AVM_POOL_SIZE, default 10>

Served like avm (`uvicorn reference_app:create_app --factory`, same worker count):

    POST /events {"title": "..."}  -> 201 {"id": "...", "version": 1}   (one event: Note.Created)
    GET  /health                   -> 200 {"status": "ok"}
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from litestar import Litestar, get, post
from litestar.datastructures import State


class Note(Aggregate):
    @event("Created")
    def __init__(self, title: str) -> None:
        self.title = title


class ReferenceApplication(Application[Any]):
    name = "reference"

    def create_note(self, title: str) -> Note:
        note = Note(title=title)
        self.save(note)
        return note


class CreateNote(msgspec.Struct, forbid_unknown_fields=True):
    title: str


class NoteOut(msgspec.Struct):
    id: str
    version: int


@post("/events", status_code=201, sync_to_thread=True)
def create_event(data: CreateNote, state: State) -> NoteOut:
    note = state.app.create_note(data.title)
    return NoteOut(id=str(note.id), version=note.version)


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.app = ReferenceApplication()  # reads the environment; creates its tables (CREATE_TABLE=y)
        try:
            yield
        finally:
            app.state.app.close()

    return Litestar(route_handlers=[create_event, health], lifespan=[lifespan], debug=False)

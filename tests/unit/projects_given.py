"""Givens shared by the Project aggregate's specifications: prose of a known length, histories
that reach a status or hold scenes, and the state a replay must rebuild."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.projects import Project
from tests.unit.gwt import history

TENANT = "4f7d2c1e-0000-4000-8000-000000000001"

# How to reach each status from a fresh draft, along allowed moves only.
PATH_TO = {
    "draft": (),
    "ready": ("ready",),
    "processing": ("ready", "processing"),
    "completed": ("ready", "processing", "completed"),
    "failed": ("failed",),
}


def prose(tag: str, length: int) -> str:
    """A scene-like paragraph of exactly `length` characters with no sentence break inside."""
    text = (f"{tag} " + "the night train hums along the silver river " * 10)[: length - 1]
    if text.endswith(" "):
        text = text[:-1] + "s"
    return text + "."


A, B, C = prose("Alpha", 150), prose("Bravo", 120), prose("Charlie", 140)


def state(project: Project) -> tuple[Any, ...]:
    return (project.title, project.description, project.status, project.story, project.scenes,
            project.config, project.deleted, project.tenant_id, project.preset_id)


def texts(project: Project) -> list[str]:
    return [scene["text"] for scene in project.scenes]


def created(*commands: Callable[[Project], Any], **fields: Any) -> list[Any]:
    fields = {"tenant_id": TENANT, "title": "Night train", **fields}
    return history(Project.create(**fields), *commands)


def at_status(status: str) -> list[Any]:
    return created(*[lambda p, s=s: p.change_status(s) for s in PATH_TO[status]])


def with_scenes(*scenes: str, then_do: tuple[Callable[[Project], Any], ...] = ()) -> list[Any]:
    return created(lambda p: p.set_story("\n\n".join(scenes)), *then_do)

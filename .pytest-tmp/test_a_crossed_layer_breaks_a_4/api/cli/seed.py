"""Demo data for a new installation: the demo user with a token and a sample project of three scenes."""
from __future__ import annotations

import os
from pathlib import Path

from domain.application import AvmApplication, CommandContext
from eventstore.database import data_dir

DEMO_EMAIL = "demo@example.com"
SAMPLE_STORY = (
    "The lighthouse keeper of Keelung had not seen a ship in forty days. Every evening she climbed the"
    " hundred and twelve steps, trimmed the wick, and watched the grey water for a sail that never came.\n\n"
    "On the forty-first night a small boat drifted into the harbour with no one aboard. Inside it lay a"
    " wooden box, a compass that pointed east instead of north, and a letter addressed to her by name.\n\n"
    "She read the letter twice by the lamp's light. Then she packed bread, the strange compass and her"
    " father's coat, and at dawn she rowed out past the breakwater, following the needle towards the sunrise."
)


def token_file() -> Path:
    return data_dir() / "demo_token"


def is_empty(app: AvmApplication) -> bool:
    return app.recorder.max_notification_id() is None


def is_seeded(app: AvmApplication) -> bool:
    """The demo user exists (then `avm db seed` adds nothing)."""
    from projections.users import find_user_by_email

    with app.factory.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        return find_user_by_email(conn, DEMO_EMAIL) is not None


def remembered_token(authenticate: object) -> str | None:
    """The demo token kept in the data directory, if it still works (nothing is issued)."""
    path = token_file()
    if path.exists():
        token = path.read_text().strip()
        if token and authenticate(token):  # type: ignore[operator]
            return token
    return None


def seed(app: AvmApplication) -> str:
    """Create the demo user and sample project; returns the demo token (also kept in .data/demo_token)."""
    ctx = CommandContext.system("avm db seed")
    user, token = app.register_user(ctx, email=DEMO_EMAIL, name="Demo User", role="user", token_name="demo")
    uctx = ctx.for_tenant(user.tenant_id)
    project = app.create_project(uctx, title="The Lighthouse Keeper",
                                 description="A sample project: a three-scene story.")
    app.set_story(uctx, str(project.id), None, SAMPLE_STORY)
    remember_demo_token(token)
    return token


def remember_demo_token(token: str) -> None:
    path = token_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n")
    os.chmod(path, 0o600)


def demo_token(app: AvmApplication, authenticate: object) -> str | None:
    """The remembered demo token if it still works, else a fresh one issued to the demo user."""
    path = token_file()
    if path.exists():
        token = path.read_text().strip()
        if authenticate(token):  # type: ignore[operator]
            return token
    from projections.users import find_user_by_email

    with app.factory.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        row = find_user_by_email(conn, DEMO_EMAIL)
    if row is None:
        return None
    ctx = CommandContext.system("avm serve", tenant_id=str(row["id"]))
    _, _, token = app.issue_token(ctx, name="demo")
    remember_demo_token(token)
    return token

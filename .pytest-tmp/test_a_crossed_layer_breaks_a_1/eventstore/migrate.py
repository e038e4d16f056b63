"""Schema management through alembic: every table, the event store's included, comes from here."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def sqlalchemy_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    if "://" not in url:  # key=value conninfo
        from psycopg.conninfo import conninfo_to_dict
        from sqlalchemy.engine import URL

        p = conninfo_to_dict(url)
        query = {"host": p["host"]} if str(p.get("host", "")).startswith("/") else {}
        return URL.create(
            "postgresql+psycopg", username=p.get("user"), password=p.get("password"),
            host=None if query else p.get("host"), port=int(p["port"]) if p.get("port") else None,
            database=p.get("dbname"), query=query,
        ).render_as_string(hide_password=False)
    return url


def alembic_config(url: str) -> Config:
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    set_app_password(url)


def set_app_password(url: str) -> None:
    """Give the login roles avm_app and avm_projector the passwords in AVM_APP_PASSWORD and
    AVM_PROJECTOR_PASSWORD (or the files named by AVM_APP_PASSWORD_FILE / AVM_PROJECTOR_PASSWORD_FILE,
    e.g. docker secrets), when set: servers that do not trust local logins; the service and the
    projector then connect with their own URLs (AVM_APP_DATABASE_URL, AVM_PROJECTOR_DATABASE_URL)."""
    import psycopg
    from psycopg import sql

    passwords = {role: secret(variable) for role, variable in
                 (("avm_app", "AVM_APP_PASSWORD"), ("avm_projector", "AVM_PROJECTOR_PASSWORD"))}
    passwords = {role: password for role, password in passwords.items() if password}
    if not passwords:
        return
    with psycopg.connect(url, autocommit=True) as conn:
        for role, password in passwords.items():
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))


def secret(variable: str) -> str | None:
    """The value of $variable, or the content of the file named by ${variable}_FILE (a docker secret)."""
    import os

    path = os.environ.get(f"{variable}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(variable)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def status(url: str) -> tuple[str | None, str | None]:
    """(current revision of the database, head revision of the code)."""
    script = ScriptDirectory.from_config(alembic_config(url))
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    engine.dispose()
    return current, script.get_current_head()

"""Sign-in (issue 13): linked identities, sessions, and the sliding expiry of sessions.

- identities: a user's linked provider identities (read model of User.IdentityLinked/Unlinked).
  (provider, subject) is unique across every tenant, inside the command's transaction
  (`identities_provider_subject_key`: linking one that is someone else's is a 409).
- sessions: read model of Session.Started/Ended; the token's hash is unique (the lookup), and so is the
  hash of the ID token that opened it (`sessions_id_token_hash_key`: an ID token signs in once).
- session_activity: not a read model (no event writes it, a rebuild leaves it alone): when each
  session expires, pushed forward as the session is used (sliding expiry without an event per request).

All three are tenant tables: row-level security through avm_protect (0007/0009), an `auth_reads`
policy (the sign-in and token lookups, before any tenant is known), and the app and system roles'
rights, as for users and api_tokens.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE identities (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    provider    text NOT NULL,
    subject     text NOT NULL,
    email       text NOT NULL,
    linked_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX identities_provider_subject_key ON identities (provider, subject);

CREATE TABLE sessions (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    token_hash    bytea NOT NULL,
    provider      text NOT NULL,
    identity_id   uuid NOT NULL,
    id_token_hash bytea NOT NULL,
    user_agent    text,
    created_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    ended_reason  text,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE UNIQUE INDEX sessions_id_token_hash_key ON sessions (id_token_hash);

CREATE TABLE session_activity (
    tenant_id   uuid NOT NULL,
    session_id  uuid NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, session_id)
);

SELECT avm_protect('identities');
SELECT avm_protect('sessions');
SELECT avm_protect('session_activity');
CREATE POLICY auth_reads ON identities FOR SELECT USING (avm_current_scope() = 'auth');
CREATE POLICY auth_reads ON sessions FOR SELECT USING (avm_current_scope() = 'auth');
CREATE POLICY auth_reads ON session_activity FOR SELECT USING (avm_current_scope() = 'auth');

GRANT SELECT, INSERT, UPDATE, DELETE ON identities, sessions TO avm_app, avm_system;
GRANT SELECT, INSERT, UPDATE ON session_activity TO avm_app, avm_system;
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS session_activity;
DROP TABLE IF EXISTS sessions;
DROP TABLE IF EXISTS identities;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

"""Events carry an optional reason (`X-Reason`), covered by the hash chain when present.

The chain's byte format is extended, not replaced: a row without a reason hashes exactly as
before (so every row written before this migration still verifies), a row with one hashes the
same bytes followed by the length-prefixed reason. Every field before it is length-prefixed or
fixed-size, so the two forms can never be confused (docs/decisions/i12-events.md).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE events ADD COLUMN reason text;

-- The bytes a row's hash covers, reason included. Mirrored by eventstore/chain.py.
CREATE FUNCTION avm_event_bytes(
    tenant_id uuid, tenant_seq bigint, originator_id uuid, originator_version bigint,
    topic text, state bytea, recorded_at timestamptz,
    actor_id text, command_id text, correlation_id text, causation_id text, reason text
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT avm_event_bytes(tenant_id, tenant_seq, originator_id, originator_version, topic, state, recorded_at,
                           actor_id, command_id, correlation_id, causation_id)
        || CASE WHEN reason IS NULL THEN '\x'::bytea ELSE avm_lp(reason) END
$$;

CREATE OR REPLACE FUNCTION avm_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
BEGIN
    SELECT e.tenant_seq, e.hash INTO last_seq, last_hash
      FROM events e WHERE e.tenant_id = NEW.tenant_id
     ORDER BY e.tenant_seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        NEW.tenant_seq := 1;
        NEW.prev_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        NEW.tenant_seq := last_seq + 1;
        NEW.prev_hash := last_hash;
    END IF;
    NEW.recorded_at := date_trunc('microseconds', statement_timestamp());
    NEW.hash := sha256(NEW.prev_hash || avm_event_bytes(
        NEW.tenant_id, NEW.tenant_seq, NEW.originator_id, NEW.originator_version,
        NEW.topic, NEW.state, NEW.recorded_at,
        NEW.actor_id, NEW.command_id, NEW.correlation_id, NEW.causation_id, NEW.reason));
    RETURN NEW;
END
$$;
"""

DOWNGRADE = r"""
CREATE OR REPLACE FUNCTION avm_events_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
BEGIN
    SELECT e.tenant_seq, e.hash INTO last_seq, last_hash
      FROM events e WHERE e.tenant_id = NEW.tenant_id
     ORDER BY e.tenant_seq DESC LIMIT 1;
    IF last_seq IS NULL THEN
        NEW.tenant_seq := 1;
        NEW.prev_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSE
        NEW.tenant_seq := last_seq + 1;
        NEW.prev_hash := last_hash;
    END IF;
    NEW.recorded_at := date_trunc('microseconds', statement_timestamp());
    NEW.hash := sha256(NEW.prev_hash || avm_event_bytes(
        NEW.tenant_id, NEW.tenant_seq, NEW.originator_id, NEW.originator_version,
        NEW.topic, NEW.state, NEW.recorded_at,
        NEW.actor_id, NEW.command_id, NEW.correlation_id, NEW.causation_id));
    RETURN NEW;
END
$$;
DROP FUNCTION IF EXISTS avm_event_bytes(uuid, bigint, uuid, bigint, text, bytea, timestamptz, text, text, text, text, text);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    # Only possible while no event has a reason: dropping the column would break their hashes.
    op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM events WHERE reason IS NOT NULL) THEN"
               " RAISE EXCEPTION 'events with a reason exist: their hashes need it'; END IF; END $$")
    op.execute(DOWNGRADE)
    op.execute("ALTER TABLE events DROP COLUMN reason")

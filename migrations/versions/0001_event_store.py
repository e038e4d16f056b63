"""Event store: per-tenant events with metadata and hash chain, snapshots, tracking.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = r"""
CREATE TABLE events (
    notification_id   bigserial NOT NULL,
    originator_id     uuid      NOT NULL,
    originator_version bigint   NOT NULL,
    topic             text      NOT NULL,
    state             bytea     NOT NULL,
    tenant_id         uuid      NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    tenant_seq        bigint    NOT NULL,
    recorded_at       timestamptz NOT NULL,
    actor_id          text,
    command_id        text,
    correlation_id    text,
    causation_id      text,
    prev_hash         bytea     NOT NULL,
    hash              bytea     NOT NULL,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX events_notification_id_idx ON events (notification_id);
CREATE UNIQUE INDEX events_tenant_seq_idx ON events (tenant_id, tenant_seq);
CREATE INDEX events_tenant_recorded_idx ON events (tenant_id, recorded_at);

-- Length-prefixed UTF-8 of a text value (-1 for NULL): unambiguous concatenation.
CREATE FUNCTION avm_lp(value text) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(convert_to(value, 'UTF8'))) || convert_to(value, 'UTF8') END
$$;

-- The bytes a row's hash covers (besides the previous hash). Mirrored by eventstore/chain.py.
CREATE FUNCTION avm_event_bytes(
    tenant_id uuid, tenant_seq bigint, originator_id uuid, originator_version bigint,
    topic text, state bytea, recorded_at timestamptz,
    actor_id text, command_id text, correlation_id text, causation_id text
) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT uuid_send(tenant_id) || int8send(tenant_seq)
        || uuid_send(originator_id) || int8send(originator_version)
        || avm_lp(topic)
        || int4send(length(state)) || state
        || int8send((extract(epoch FROM recorded_at) * 1000000)::bigint)
        || avm_lp(actor_id) || avm_lp(command_id) || avm_lp(correlation_id) || avm_lp(causation_id)
$$;

-- Assigns the per-tenant sequence number, the record time and the hash chain link.
-- Inserts are serialised by the recorder's EXCLUSIVE table lock, so reading the
-- tenant's last row here cannot race another writer.
CREATE FUNCTION avm_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
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
CREATE TRIGGER events_chain BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION avm_events_chain();

-- Second line of append-only defence (the first is the privileges of the app role).
CREATE FUNCTION avm_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION avm_events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION avm_events_append_only();

-- The library's snapshot store (PostgresAggregateRecorder) uses this composite type.
CREATE TYPE stored_event_uuid AS (
    originator_id uuid, originator_version bigint, topic text, state bytea);
CREATE TABLE snapshots (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    PRIMARY KEY (originator_id, originator_version)
);

-- Single-row tracking, the layout of the library's PostgresTrackingRecorder.
CREATE TABLE tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);
INSERT INTO tracking VALUES ('__migration__', 1);
"""

DOWNGRADE = r"""
DROP TABLE IF EXISTS tracking;
DROP TABLE IF EXISTS snapshots;
DROP TYPE IF EXISTS stored_event_uuid;
DROP TABLE IF EXISTS events;
DROP FUNCTION IF EXISTS avm_events_append_only();
DROP FUNCTION IF EXISTS avm_events_chain();
DROP FUNCTION IF EXISTS avm_event_bytes(uuid, bigint, uuid, bigint, text, bytea, timestamptz, text, text, text, text);
DROP FUNCTION IF EXISTS avm_lp(text);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

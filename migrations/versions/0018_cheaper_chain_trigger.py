"""The chain trigger builds a row's hashed bytes inline: the same bytes, the same hashes, cheaper.

Since 0001/0010 the trigger hashed `prev_hash || avm_event_bytes(...)`, and `avm_event_bytes` calls
`avm_lp` five times. Those SQL functions are declared IMMUTABLE but their bodies use `convert_to` and
`extract(epoch FROM timestamptz)`, which are only STABLE, so the planner never inlines them: every event
ran one SQL function that ran another and five more, each through the SQL function executor
(pg_stat_statements with track = all lists them as nested statements of every insert). Here the
trigger writes the same expression out in PL/pgSQL, as one expression: field for field what
`avm_event_bytes` (0001, with 0010's reason) concatenates, in the same order, with the same functions,
so every hash is byte-for-byte what it was (tests/integration/test_chain_trigger_0018.py compares
both, and eventstore/chain.py's). `avm_event_bytes` and `avm_lp` stay: verification and the tests
still call them. The last-row lookup, the sequence, the record time and the definer rights are
unchanged (docs/decisions/i17-write.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

UPGRADE = r"""
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
    -- avm_event_bytes(...) written out (avm_lp(v): -1 for NULL, else the UTF-8 length and bytes).
    NEW.hash := sha256(NEW.prev_hash
        || uuid_send(NEW.tenant_id) || int8send(NEW.tenant_seq)
        || uuid_send(NEW.originator_id) || int8send(NEW.originator_version)
        || CASE WHEN NEW.topic IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(convert_to(NEW.topic, 'UTF8'))) || convert_to(NEW.topic, 'UTF8') END
        || int4send(length(NEW.state)) || NEW.state
        || int8send((extract(epoch FROM NEW.recorded_at) * 1000000)::bigint)
        || CASE WHEN NEW.actor_id IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(convert_to(NEW.actor_id, 'UTF8'))) || convert_to(NEW.actor_id, 'UTF8') END
        || CASE WHEN NEW.command_id IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(convert_to(NEW.command_id, 'UTF8'))) || convert_to(NEW.command_id, 'UTF8') END
        || CASE WHEN NEW.correlation_id IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(convert_to(NEW.correlation_id, 'UTF8')))
                     || convert_to(NEW.correlation_id, 'UTF8') END
        || CASE WHEN NEW.causation_id IS NULL THEN int4send(-1)
                ELSE int4send(octet_length(convert_to(NEW.causation_id, 'UTF8')))
                     || convert_to(NEW.causation_id, 'UTF8') END
        || CASE WHEN NEW.reason IS NULL THEN '\x'::bytea
                ELSE int4send(octet_length(convert_to(NEW.reason, 'UTF8'))) || convert_to(NEW.reason, 'UTF8') END);
    RETURN NEW;
END
$$;
"""

# 0010's trigger, as it was.
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
        NEW.actor_id, NEW.command_id, NEW.correlation_id, NEW.causation_id, NEW.reason));
    RETURN NEW;
END
$$;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)

"""Which errors are a database outage (503 with Retry-After) and which are a bug (500)."""
from __future__ import annotations

import psycopg
import psycopg.errors as pe
import pytest
from eventsourcing import persistence as p
from psycopg_pool import PoolTimeout

from api.problems import database_unavailable


def _wrapped(outer: Exception, inner: BaseException) -> Exception:
    outer.__cause__ = inner
    return outer


@pytest.mark.parametrize("error", [
    pe.AdminShutdown("terminating connection due to administrator command"),
    pe.CannotConnectNow("the database system is shutting down"),
    psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
    psycopg.InterfaceError("result not set"),                       # connection cut mid-pipeline
    pe.InternalError("got no result from the query"),               # client-side, no SQLSTATE
    pe.TooManyConnections("sorry, too many clients already"),       # class 53
    pe.QueryCanceled("canceling statement due to statement timeout"),
    PoolTimeout("couldn't get a connection after 5.00 sec"),
    _wrapped(p.InternalError("got no result"), pe.InternalError("got no result")),  # the library's wrapper
    _wrapped(RuntimeError("commit failed"), pe.AdminShutdown("terminating connection")),
    p.OperationalError("connection lost"),
])
def test_outages_are_503(error: BaseException) -> None:
    assert database_unavailable(error)


@pytest.mark.parametrize("error", [
    ValueError("a bug"),
    KeyError("a bug"),
    pe.SyntaxError("syntax error at or near"),                      # our SQL is wrong: 500
    pe.UndefinedTable("relation does not exist"),
    pe.InFailedSqlTransaction("current transaction is aborted"),
    _wrapped(p.ProgrammingError("column does not exist"), pe.UndefinedColumn("column does not exist")),
    _wrapped(RuntimeError("outer"), ValueError("inner")),
])
def test_bugs_stay_500(error: BaseException) -> None:
    assert not database_unavailable(error)


def test_a_cyclic_chain_terminates() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert not database_unavailable(a)

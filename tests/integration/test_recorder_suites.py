"""The eventsourcing library's own recorder test suites, run against our recorder on real PostgreSQL."""
from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    TrackingRecorderTestCase,
)
from psycopg.conninfo import conninfo_to_dict

from eventstore.recorder import AvmRecorder, DbFunctionsRefused, Factory
from tests import support


class FreshDatabase:
    """Each test gets its own migrated, empty database (the suites expect an empty log)."""

    datastore: PostgresDatastore

    def setUp(self) -> None:
        self.dbname, url = support.fresh_database("avm_rec")
        p = conninfo_to_dict(url)
        self.datastore = PostgresDatastore(
            dbname=p["dbname"], host=p.get("host", "127.0.0.1"), port=p.get("port", 5432),
            user=p.get("user", "postgres"), password=p.get("password", ""), pool_size=10, max_overflow=10)
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.datastore.close()
        support.drop_database(self.dbname)


class TestAvmRecorder(FreshDatabase, ApplicationRecorderTestCase[AvmRecorder]):
    def create_recorder(self) -> AvmRecorder:
        return AvmRecorder(self.datastore)

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestAvmRecorderNonInterleaving(FreshDatabase, NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> AvmRecorder:
        return AvmRecorder(self.datastore)


class TestTrackingRecorderOnOurTable(FreshDatabase, TrackingRecorderTestCase):
    def create_recorder(self) -> PostgresTrackingRecorder:
        return PostgresTrackingRecorder(self.datastore, tracking_table_name="tracking")


def test_db_functions_setting_is_refused_at_start_up() -> None:
    env: dict[str, Any] = {"POSTGRES_ENABLE_DB_FUNCTIONS": "y", "POSTGRES_DBNAME": "x", "POSTGRES_HOST": "x",
                           "POSTGRES_USER": "x", "POSTGRES_PASSWORD": ""}
    from eventsourcing.utils import Environment

    with pytest.raises(DbFunctionsRefused):
        Factory(Environment("avm", env))


def test_the_recorder_never_creates_tables() -> None:
    with pytest.raises(RuntimeError, match="alembic"):
        AvmRecorder.create_table(object.__new__(AvmRecorder))

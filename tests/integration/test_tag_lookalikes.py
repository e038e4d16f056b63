"""A tenant's object shaped like the event store's tagged form, stored before it was refused, is read
back as written: a rebuild of the read models from the log equals the live rows (issue 11, item 2)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_stored_values import avm, store_directly, world  # noqa: F401 - the fixture

# Each one used to come back from the log as a UUID, time or decimal (normalised: "2020-01-01" as
# "2020-01-01T00:00:00"), so `avm projections verify` found the live rows and a rebuild different.
LOOKALIKES = {
    "uuid": {"_type_": "uuid_hex", "_data_": "00" * 16},
    "date only": {"_type_": "datetime_iso", "_data_": "2020-01-01"},
    "time": {"_type_": "datetime_iso", "_data_": "2020-01-01T10:00:00+01:00"},
    "decimal": {"_type_": "decimal_str", "_data_": "1.5"},
    "decimal exponent": {"_type_": "decimal_str", "_data_": "1e1"},
    "unregistered": {"_type_": "nope", "_data_": "x"},
    "not a time": {"_type_": "datetime_iso", "_data_": "not a value"},
}


@pytest.mark.parametrize("name", list(LOOKALIKES))
def test_a_stored_tag_lookalike_reads_back_as_written_and_a_rebuild_changes_nothing(world: Any, name: str) -> None:
    value = {"v": LOOKALIKES[name], "in a list": [1, LOOKALIKES[name]]}
    store_directly(world["services"], world["tenant"], value, value, value, value, "9999-12-31T23:59:59+00:00")

    for args in (("projections", "verify"), ("projections", "rebuild"), ("projections", "verify")):
        result = avm(world, *args)
        assert result.returncode == 0, (args, result.stdout[-1500:], result.stderr[-1500:])

"""The body checks without HTTP: decoding, field-by-field errors, free-form limits, blank text."""
from __future__ import annotations

import msgspec
import pytest

from api.schemas import ConfigPatch, CreateProject, SceneEdit
from api.validation import MAX_ERRORS, MAX_FIELD_NAME, MalformedBody, decode, field_errors
from domain.input_limits import MAX_DEPTH, MAX_ITEMS, FreeForm, free_form_errors
from domain.text import is_blank


@pytest.mark.parametrize("text", ["", " ", "\u200b", "\u200c\u200d", "\u2060", "\ufeff", "\t\u200b\n", "\u3000"])
def test_whitespace_and_invisible_characters_are_blank(text):
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", "\u200ba", " x ", "0"])
def test_anything_visible_is_not_blank(text):
    assert not is_blank(text)


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"1e999", b"1" * 5000,
    b'"\\ud800"', b'"\\udc00"', b"\xef\xbb\xbf{}", b'{"a": 1, "a": 2}', b"\xff", b"NaN", b"",
])
def test_decode_refuses_whatever_the_parser_cannot_take_with_one_exception_type(body):
    with pytest.raises(MalformedBody):
        decode(body)


def test_decode_names_a_duplicate_key_by_its_path_and_a_number_out_of_range_by_its_field():
    with pytest.raises(MalformedBody) as duplicate:
        decode(b'{"c": 0, "a": [{"c": 1}, {"b": {"c": 1, "d": 0, "c": 2}}]}')
    with pytest.raises(MalformedBody) as big:
        decode(b'{"a": 1, "b": [2, 1e999]}')

    assert duplicate.value.field == "a.1.b.c"
    assert big.value.field == "b.1"


def test_every_bad_field_is_listed_including_nested_and_unknown_ones():
    errors = dict(field_errors({"title": "", "x": 1, "config": {"voice": {"speed": 0, "y": 2}}}, CreateProject))

    assert errors == {"title": "must not be empty", "x": "is not a known field",
                      "config.voice.speed": "must be at least 0.5", "config.voice.y": "is not a known field"}


def test_a_tagged_union_is_checked_as_the_struct_its_tag_names():
    errors = dict(field_errors({"op": "split", "index": "0", "position": 0}, SceneEdit))

    assert errors == {"index": "must be an integer, not a string", "position": "must be at least 1"}


def test_the_list_of_errors_is_capped_and_says_how_many_more_there_are():
    errors = field_errors({f"unknown{i}": i for i in range(MAX_ERRORS + 50)} | {"title": "t"}, CreateProject)

    assert len(errors) == MAX_ERRORS
    assert errors[-1] == ("body", "51 more errors are not listed")


def test_a_config_patch_keeps_only_what_was_sent():
    patch = msgspec.convert({"voice": {"speed": 1.5}}, ConfigPatch)

    assert msgspec.to_builtins(patch) == {"voice": {"speed": 1.5}}


def test_free_form_limits_are_checked_through_the_annotated_type_wherever_it_is_used():
    deep: dict = {"leaf": 1}
    for _ in range(MAX_DEPTH):
        deep = {"k": deep}

    class Holder(msgspec.Struct, forbid_unknown_fields=True):
        meta: FreeForm | None = None

    assert field_errors({"meta": deep}, Holder) == [
        ("meta" + ".k" * MAX_DEPTH, f"must be nested at most {MAX_DEPTH} levels deep")]
    assert field_errors({"meta": None}, Holder) == []
    assert free_form_errors(deep, "meta") == [("meta" + ".k" * MAX_DEPTH, f"must be nested at most {MAX_DEPTH} levels deep")]
    assert free_form_errors([0] * (MAX_ITEMS + 1), "x") == [("x", f"must have at most {MAX_ITEMS} items, not {MAX_ITEMS + 1}")]
    assert free_form_errors({"ok": True, "n": 1.5, "s": "x"}, "x") == []


def test_field_paths_in_errors_are_shortened_so_a_refusal_never_echoes_a_huge_key():
    key = "k" * 10_000

    errors = field_errors({key: 1, "title": "t"}, CreateProject)

    assert len(errors) == 1 and len(errors[0][0]) == MAX_FIELD_NAME and errors[0][0].startswith("kkk")


def test_every_item_of_a_typed_list_is_checked_not_only_the_first_ones():
    order = list(range(500))
    order[400] = "x"

    errors = field_errors({"op": "reorder", "order": order}, SceneEdit)

    assert errors == [("order.400", "must be an integer, not a string")]


def test_an_object_shaped_like_the_event_stores_tagged_values_is_refused_anywhere_in_a_free_form_value() -> None:
    # {"_type_": "datetime_iso", "_data_": …} would be read back from the log as a datetime, not the
    # object written: the inline row and a rebuilt one would differ.
    from domain.input_limits import free_form_errors

    tagged = {"_type_": "datetime_iso", "_data_": "2020-01-01T00:00:00+00:00"}
    assert free_form_errors({"a": [{"b": tagged}]}, "metadata") == [
        ("metadata.a.0.b", "must not be an object of exactly the keys _type_ and _data_ (the event store's own form)")]
    assert free_form_errors(tagged, "metadata") != []
    assert free_form_errors({"_type_": "x", "data": 1, "_data": 2}, "metadata") == []

"""The application's seams (issue 12, item 4), checked on the source: commands apart from their
plumbing, one method per command with named arguments, one conflict retry, and a domain that
names no HTTP header."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import msgspec

from domain.application import AvmApplication
from domain.context import CommandContext
from domain.errors import StaleVersion

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = {str(p.relative_to(ROOT)): p.read_text() for p in sorted((ROOT / "domain").rglob("*.py"))}


def commands() -> dict[str, inspect.Signature]:
    """The application's public methods that take a command context: its commands."""
    out = {}
    for name, member in inspect.getmembers(AvmApplication, inspect.isfunction):
        if name.startswith("_") or member.__module__ == "domain.plumbing":
            continue
        params = list(inspect.signature(member).parameters.values())
        if len(params) > 1 and params[1].name == "ctx":
            out[name] = inspect.signature(member)
    return out


def test_no_module_of_the_domain_reaches_500_lines() -> None:
    assert {m: n for m, text in DOMAIN.items() if (n := len(text.splitlines())) >= 500} == {}


def test_the_domain_names_no_http_header() -> None:
    header = re.compile(r"If-Match|If-None-Match|Idempotency-Key|X-Reason|X-Request-Id|ETag|\bheaders?\b", re.I)
    assert {m: header.findall(text) for m, text in DOMAIN.items() if header.search(text)} == {}


def test_every_command_takes_named_values_never_a_callable() -> None:
    found = commands()
    assert {"update_project", "change_project_status", "merge_scenes", "split_scene", "reorder_scenes",
            "update_scene", "update_preset"} <= found.keys()
    takes_callable = {name: str(p.annotation) for name, sig in found.items() for p in sig.parameters.values()
                      if "Callable" in str(p.annotation)}
    assert takes_callable == {}
    assert not {name for name, sig in found.items()
                for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD}, "**kwargs hide a command's arguments"


def test_no_command_exists_only_for_tests() -> None:
    callers = "\n".join(p.read_text() for p in (ROOT / "api").rglob("*.py"))  # routes, CLI
    unused = sorted(name for name in commands() if not re.search(rf"\.{name}\(", callers))
    assert unused == []


def test_the_conflict_retry_is_written_once() -> None:
    handlers = []
    for module, text in DOMAIN.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ExceptHandler) and node.type is not None and "ConcurrentChange" in ast.unparse(node.type):
                handlers.append(module)
    assert handlers == ["domain/plumbing.py"]


def test_the_plumbing_lives_apart_from_the_commands() -> None:
    plumbing = {"_serialised", "_stripes", "retry_on_conflict", "forget_cached", "evict", "_save", "_change", "load"}
    defined_in = {name: next(k.__module__ for k in AvmApplication.__mro__ if name in vars(k)) for name in plumbing}
    assert set(defined_in.values()) == {"domain.plumbing"}
    for module in ("domain/commands/projects.py", "domain/commands/jobs.py", "domain/commands/assets.py",
                   "domain/commands/presets.py", "domain/commands/users.py"):
        assert not re.search(r"threading|time\.sleep|LRUCache|except ConcurrentChange", DOMAIN[module]), module


def test_a_stale_version_names_the_if_match_header_only_over_http() -> None:
    from api.problems import domain_problem_handler

    body = msgspec.to_builtins(domain_problem_handler(None, StaleVersion("version 1 is stale")).content)  # type: ignore[arg-type]
    assert body["status"] == 412 and body["errors"] == [{"field": "If-Match", "reason": "version 1 is stale"}]
    assert CommandContext.__module__ == "domain.context"

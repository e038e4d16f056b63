"""The avm application: every command of the domain, one save (one transaction) each.

The commands live one module per aggregate under domain/commands/; what they stand on (the
repository and its cache, loading, saving, striped locks, the conflict retry) in domain/plumbing.py.
"""
from __future__ import annotations

from domain.assets import Asset
from domain.commands.assets import AssetCommands
from domain.commands.jobs import JobCommands
from domain.commands.presets import PresetCommands
from domain.commands.projects import ProjectCommands
from domain.commands.signin import SignInCommands
from domain.commands.users import TOKEN_PREFIX, UserCommands, hash_token, new_token
from domain.context import CommandContext
from domain.jobs import Job
from domain.plumbing import MAX_CONFLICT_RETRIES, AvmRepository, mutate_all
from domain.presets import Preset
from domain.projects import Project
from domain.users import User

__all__ = ["AvmApplication", "AvmRepository", "CommandContext", "MAX_CONFLICT_RETRIES", "TOKEN_PREFIX",
           "hash_token", "mutate_all", "new_token"]


class AvmApplication(ProjectCommands, JobCommands, AssetCommands, PresetCommands, UserCommands, SignInCommands):
    """One application for the whole domain; the persistence module is chosen by the composition root."""

    name = "avm"
    # Aggregates are cached without fast-forwarding: a command on a cached aggregate costs no
    # read; a stale copy (another process wrote since) fails its save on the version and is
    # evicted and reloaded (see Plumbing.retry_on_conflict).
    # 2,000 entries (about 2 KB each) hold the hot aggregates (each tenant's daily Usage, the
    # projects being worked on); 20,000 grew RSS by 10 MB/min for minutes under a create load
    # (bench/results: the soak), which is a cache filling up, not a leak, but not flat either.
    # The library's JSON format, written and read by msgspec (eventstore/transcoder.py).
    env = {"IS_SNAPSHOTTING_ENABLED": "y", "AGGREGATE_CACHE_MAXSIZE": "2000",
           "AGGREGATE_CACHE_FASTFORWARD": "n", "TRANSCODER_TOPIC": "eventstore.transcoder:MsgspecTranscoder"}
    # A project, the aggregate read at past versions (`?at=`), every 10 versions: a read folds at most nine
    # events (issue 17: p99 29 -> 21 ms on a 10,000-event stream; every 5 gained nothing more).
    snapshotting_intervals = {Project: 10, User: 25, Job: 25, Asset: 25, Preset: 25}
    snapshotting_projectors = {cls: mutate_all for cls in snapshotting_intervals}

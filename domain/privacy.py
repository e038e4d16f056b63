"""Which fields of which events hold personal data (issue 15): the event store seals them with the
tenant's data key before they are stored (eventstore/sealing.py), so erasing the key erases them.

Keyed by the event's stored topic, so the list is what the log holds, not what the code calls it.
Everything not listed is a non-personal fact (ids, versions, statuses, times, counts, configuration)
and stays readable after an erasure. The choice is recorded in docs/decisions/i15-crypto.md.
"""
from __future__ import annotations

from eventsourcing.utils import get_topic

from domain.assets import Asset
from domain.presets import Preset
from domain.projects import Project
from domain.sessions import Session
from domain.users import User

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    get_topic(User.Registered): ("email", "name"),
    get_topic(User.Renamed): ("name",),
    get_topic(User.ImageChanged): ("image",),
    get_topic(User.IdentityLinked): ("subject", "email"),
    get_topic(User.TokenIssued): ("name",),
    get_topic(Project.Created): ("title", "description"),
    get_topic(Project.Renamed): ("title",),
    get_topic(Project.Described): ("description",),
    get_topic(Project.StorySet): ("text", "scenes"),
    get_topic(Project.SceneUpdated): ("text", "prompt"),
    get_topic(Preset.Created): ("name",),
    get_topic(Preset.Renamed): ("name",),
    get_topic(Asset.Registered): ("metadata",),
    get_topic(Session.Started): ("user_agent",),
}

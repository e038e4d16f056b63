"""`avm projections run|status`: the asynchronous projectors and the state of every read model."""
from __future__ import annotations

from api.cli_projections import projections  # noqa: F401 - commands are added to this group

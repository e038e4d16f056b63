"""The Project aggregate and its scenes: title, description, config, status, story and scene edits."""
from __future__ import annotations

from typing import Any

from eventsourcing.domain import event

from domain.config import merge_config, validate_config
from domain.errors import Conflict, InvalidTransition, ProjectHasActiveJobs, QuotaExceeded, ValidationProblem
from domain.input_limits import as_written
from domain.segmentation import check_scene_text, segment
from domain.shared import DeletableAggregate

STATUSES = ("draft", "ready", "processing", "completed", "failed")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("ready", "failed"),
    "ready": ("processing", "draft"),
    "processing": ("completed", "failed"),
    "completed": ("draft",),
    "failed": ("draft", "ready"),
}
MAX_STORY_CHARS = 50_000


def check_title(title: str) -> str:
    if not isinstance(title, str) or not 1 <= len(title.strip()) <= 255 or len(title) > 255:
        raise ValidationProblem("title must be 1 to 255 characters", field="title")
    return title.strip()


def check_description(description: str) -> str:
    if len(description) > 1000:
        raise ValidationProblem("description must be at most 1000 characters", field="description")
    return description


def join_texts(first: str, second: str) -> str:
    """Join two scene texts: a space after ASCII sentence punctuation (segmentation strips it),
    nothing otherwise (CJK text, or a scene split inside a word)."""
    if first and second and first[-1] in ".!?;:,\"')" and second[0].isascii() and not second[0].isspace():
        return f"{first} {second}"
    return first + second


class Project(DeletableAggregate):
    """A video project of one tenant, with its ordered scenes.

    Lifecycle: Created (draft) → story set (ready) → processing → completed or
    failed, only along TRANSITIONS; soft-deleted and restored by events.
    Invariants: title 1–255 characters, description ≤ 1000, config valid per the
    domain reference, scene indexes 0..n-1 with non-empty text ≤ max length.
    The output is the video named by the last job that succeeded with one.
    """

    output_asset_id: str | None = None  # a class default: a snapshot taken before outputs still reads

    @event("Created")
    def __init__(self, tenant_id: str, title: str, description: str, config: dict[str, Any],
                 preset_id: str | None) -> None:
        self.tenant_id = tenant_id
        self.title = title
        self.description = description
        self.config = as_written(config)  # a stored tag lookalike reads back as written
        self.preset_id = preset_id
        self.status = "draft"
        self.story: str | None = None
        self.scenes: list[dict[str, Any]] = []
        self.max_scene_length = 280
        self.min_scene_length = 100
        self.active_job_id: str | None = None

    @classmethod
    def create(cls, *, tenant_id: str, title: str, description: str = "",
               config: dict[str, Any] | None = None, preset_id: str | None = None) -> Project:
        return cls(
            tenant_id=tenant_id, title=check_title(title), description=check_description(description),
            config=validate_config(config or {}), preset_id=preset_id,
        )

    # -- commands -------------------------------------------------------------------------------
    def rename(self, title: str) -> None:
        self.check_not_deleted()
        title = check_title(title)
        if title != self.title:
            self._rename(title=title)

    def describe(self, description: str) -> None:
        self.check_not_deleted()
        description = check_description(description)
        if description != self.description:
            self._describe(description=description)

    def reconfigure(self, patch: dict[str, Any]) -> None:
        self.check_not_deleted()
        config = merge_config(self.config, patch)
        if config != self.config:
            self._reconfigure(config=config)

    def change_status(self, status: str) -> None:
        self.check_not_deleted()
        if status not in STATUSES:
            raise ValidationProblem(f"status must be one of {', '.join(STATUSES)}", field="status")
        if status not in TRANSITIONS[self.status]:
            allowed = ", ".join(TRANSITIONS[self.status]) or "none"
            raise InvalidTransition(
                f"cannot move from {self.status} to {status} (allowed: {allowed})", field="status",
                current=self.status, allowed=list(TRANSITIONS[self.status]),
            )
        self._change_status(status=status, previous=self.status)

    def set_story(self, text: str, min_length: int = 100, max_length: int = 280,
                  max_scenes: int | None = None) -> list[str]:
        """Store the story, segment it into scenes; a draft becomes ready."""
        self.check_not_deleted()
        if len(text) > MAX_STORY_CHARS:
            raise ValidationProblem(f"story text is over {MAX_STORY_CHARS} characters", field="text")
        if self.active_job_id:
            raise ProjectHasActiveJobs("the story cannot change while a job is queued or running", field="text")
        scenes = segment(text, min_length, max_length)
        self._check_scene_limit(len(scenes), max_scenes)
        self._set_story(text=text, scenes=scenes, min_length=min_length, max_length=max_length)
        if self.status == "draft":
            self._change_status(status="ready", previous="draft")
        return scenes

    def merge_scenes(self, indexes: list[int]) -> list[str]:
        self.check_not_deleted()
        if len(indexes) != 2 or indexes[1] != indexes[0] + 1:
            raise ValidationProblem("merge takes two adjacent indexes [i, i+1]", field="indexes")
        self._check_index(indexes[0], "indexes")
        self._check_index(indexes[1], "indexes")
        merged = join_texts(self.scenes[indexes[0]]["text"], self.scenes[indexes[1]]["text"])
        warnings = self._check_text(merged, "indexes")
        self._merge_scenes(index=indexes[0])
        return warnings

    def split_scene(self, index: int, position: int, max_scenes: int | None = None) -> list[str]:
        self.check_not_deleted()
        self._check_index(index, "index")
        self._check_scene_limit(len(self.scenes) + 1, max_scenes)
        text = self.scenes[index]["text"]
        if not 0 < position < len(text):
            raise ValidationProblem(f"position must be between 1 and {len(text) - 1}", field="position")
        head, tail = text[:position].strip(), text[position:].strip()
        if not head or not tail:
            raise ValidationProblem("splitting here would leave an empty scene", field="position")
        warnings = self._check_text(head, "position") + self._check_text(tail, "position")
        self._split_scene(index=index, position=position)
        return warnings

    def reorder_scenes(self, order: list[int]) -> None:
        self.check_not_deleted()
        order = list(order)
        if sorted(order) != list(range(len(self.scenes))):
            raise ValidationProblem(
                f"order must list every index 0..{len(self.scenes) - 1} exactly once", field="order")
        if order != list(range(len(self.scenes))):
            self._reorder_scenes(order=order)

    def update_scene(self, index: int, text: str | None = None, prompt: str | None = None) -> list[str]:
        self.check_not_deleted()
        self._check_index(index, "index")
        warnings: list[str] = []
        if text is not None:
            warnings = self._check_text(text, "text")
            text = text.strip()
        if prompt is not None and len(prompt) > 2000:
            raise ValidationProblem("prompt must be at most 2000 characters", field="prompt")
        scene = self.scenes[index]
        if (text is not None and text != scene["text"]) or (prompt is not None and prompt != scene["prompt"]):
            self._update_scene(index=index, text=text, prompt=prompt)
        return warnings

    def delete(self) -> None:
        if self.active_job_id:
            raise ProjectHasActiveJobs("a project with a queued or running job cannot be deleted")
        super().delete()

    # -- jobs -----------------------------------------------------------------------------------
    def queue_job(self, job_id: str) -> None:
        self.check_not_deleted()
        if self.active_job_id:
            raise ProjectHasActiveJobs("the project already has a queued or running job")
        if self.status not in ("ready", "failed"):
            raise Conflict(f"only a ready project can be rendered (project is {self.status})", field="status")
        if not self.scenes:
            raise Conflict("the project has no scenes: set its story first", field="scenes")
        self._queue_job(job_id=job_id)
        if self.status == "failed":
            self._change_status(status="ready", previous="failed")

    def job_started(self, job_id: str) -> None:
        if self.active_job_id == job_id and self.status == "ready":
            self._change_status(status="processing", previous="ready")

    def job_ended(self, job_id: str, outcome: str, output_asset_id: str | None = None) -> None:
        """The project follows its job: completed (showing the video it produced, when it names one)
        or failed; a cancelled render leaves it failed if it had started, ready if it had not."""
        if self.active_job_id != job_id:
            return
        self._end_job(job_id=job_id, outcome=outcome, output_asset_id=output_asset_id)
        target = {"succeeded": "completed", "failed": "failed", "cancelled": "failed"}[outcome]
        if self.status == "processing":
            self._change_status(status=target, previous="processing")
        elif self.status == "ready" and outcome == "failed":
            self._change_status(status="failed", previous="ready")

    def attach_scene_image(self, index: int, asset_id: str) -> None:
        self.check_not_deleted()
        self._check_index(index, "scene_index")
        if self.scenes[index]["image_asset_id"] != asset_id:
            self._attach_scene_image(index=index, asset_id=asset_id)

    # -- reads ----------------------------------------------------------------------------------
    def scene_warnings(self) -> list[str]:
        """The warnings a scene edit gives (a scene shorter than the minimum), for every scene as
        it is now, each naming its index: what setting a story answers."""
        return [f"scene {i}: {warning}" for i, scene in enumerate(self.scenes)
                for warning in check_scene_text(scene["text"], self.min_scene_length, self.max_scene_length)]

    def scenes_match_story(self) -> bool:
        """Whether the scenes' texts are still the story's segmentation (false once an edit changed
        them: the story is kept as it was set, the scenes are what will be rendered)."""
        if self.story is None:
            return not self.scenes
        texts = [scene["text"] for scene in self.scenes]
        try:  # with today's rules: a story they would refuse (stored under older ones) matches nothing
            return texts == segment(self.story, self.min_scene_length, self.max_scene_length)
        except ValidationProblem:
            return False

    @staticmethod
    def _check_scene_limit(count: int, max_scenes: int | None) -> None:
        if max_scenes is not None and count > max_scenes:
            raise QuotaExceeded(f"{count} scenes is over the limit of {max_scenes} scenes per project",
                                field="text", quota="scenes_per_project", limit=max_scenes, resets_at=None)

    def _check_index(self, index: int, field: str) -> None:
        if not 0 <= index < len(self.scenes):
            raise ValidationProblem(f"no scene at index {index} (project has {len(self.scenes)})", field=field)

    def _check_text(self, text: str, field: str) -> list[str]:
        try:
            return check_scene_text(text, self.min_scene_length, self.max_scene_length)
        except ValidationProblem as problem:
            raise ValidationProblem(problem.detail, field=field) from None

    # -- events ---------------------------------------------------------------------------------
    @event("Renamed")
    def _rename(self, title: str) -> None:
        self.title = title

    @event("Described")
    def _describe(self, description: str) -> None:
        self.description = description

    @event("Reconfigured")
    def _reconfigure(self, config: dict[str, Any]) -> None:
        self.config = as_written(config)  # a stored tag lookalike reads back as written

    @event("StatusChanged")
    def _change_status(self, status: str, previous: str) -> None:
        self.status = status

    @event("StorySet")
    def _set_story(self, text: str, scenes: list[str], min_length: int, max_length: int) -> None:
        self.story = text
        self.min_scene_length = min_length
        self.max_scene_length = max_length
        self.scenes = [{"text": t, "prompt": None, "image_asset_id": None} for t in scenes]

    @event("JobQueued")
    def _queue_job(self, job_id: str) -> None:
        self.active_job_id = job_id

    @event("JobEnded")
    def _end_job(self, job_id: str, outcome: str, output_asset_id: str | None = None) -> None:
        self.active_job_id = None
        if output_asset_id is not None:
            self.output_asset_id = output_asset_id

    @event("SceneImageAttached")
    def _attach_scene_image(self, index: int, asset_id: str) -> None:
        self.scenes[index] = {**self.scenes[index], "image_asset_id": asset_id}

    @event("ScenesMerged")
    def _merge_scenes(self, index: int) -> None:
        first, second = self.scenes[index], self.scenes[index + 1]
        first = {**first, "text": join_texts(first["text"], second["text"]),
                 "prompt": first["prompt"] or second["prompt"]}
        self.scenes[index:index + 2] = [first]

    @event("SceneSplit")
    def _split_scene(self, index: int, position: int) -> None:
        scene = self.scenes[index]
        head = {**scene, "text": scene["text"][:position].strip()}
        tail = {"text": scene["text"][position:].strip(), "prompt": None, "image_asset_id": None}
        self.scenes[index:index + 1] = [head, tail]

    @event("ScenesReordered")
    def _reorder_scenes(self, order: list[int]) -> None:
        self.scenes = [self.scenes[i] for i in order]

    @event("SceneUpdated")
    def _update_scene(self, index: int, text: str | None, prompt: str | None) -> None:
        scene = dict(self.scenes[index])
        if text is not None:
            scene["text"] = text
        if prompt is not None:
            scene["prompt"] = prompt
        self.scenes[index] = scene

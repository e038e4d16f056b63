from enum import StrEnum


class JobProgressStepType1(StrEnum):
    IMAGE_GENERATION = "image_generation"
    INGEST = "ingest"
    PROMPT = "prompt"
    PUBLISH = "publish"
    SEGMENT = "segment"
    TEXT_TO_SPEECH = "text_to_speech"
    VIDEO_RENDER = "video_render"

    def __str__(self) -> str:
        return str(self.value)

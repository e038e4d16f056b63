"""Job cost estimate: what rendering a story is expected to cost, as a range in USD."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from domain.errors import ValidationProblem

CURRENCY = "USD"
CHARS_PER_TOKEN = Decimal(4)
PRICE_PER_TOKEN = Decimal("0.000002")
PRICE_PER_IMAGE = Decimal("0.04")
TTS_PRICE_PER_CHAR = Decimal("0.000016")
RENDER_PRICE_PER_SECOND = Decimal("0.01")
SECONDS_PER_SCENE = Decimal(3)
LOW_FACTOR = Decimal("0.8")
HIGH_FACTOR = Decimal("1.2")

_MILLIONTH = Decimal("0.000001")


def estimate_cost(story_chars: int, scene_count: int, images_per_scene: int) -> dict:
    """Return the expected cost of a job with its low/high range and its breakdown by step."""
    for name, value in (
        ("story_chars", story_chars),
        ("scene_count", scene_count),
        ("images_per_scene", images_per_scene),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValidationProblem(f"{name} must be a non-negative integer", field=name)
    breakdown = {
        "text": Decimal(story_chars) / CHARS_PER_TOKEN * PRICE_PER_TOKEN,
        "images": Decimal(scene_count * images_per_scene) * PRICE_PER_IMAGE,
        "tts": Decimal(story_chars) * TTS_PRICE_PER_CHAR,
        "render": Decimal(scene_count) * SECONDS_PER_SCENE * RENDER_PRICE_PER_SECOND,
    }
    # The range comes from the exact sum, so rounding each part cannot skew it.
    expected = sum(breakdown.values(), Decimal(0))
    return {
        "currency": CURRENCY,
        "low": _amount(expected * LOW_FACTOR),
        "expected": _amount(expected),
        "high": _amount(expected * HIGH_FACTOR),
        "breakdown": {step: _amount(cost) for step, cost in breakdown.items()},
    }


def _amount(value: Decimal) -> float:
    return float(value.quantize(_MILLIONTH, rounding=ROUND_HALF_UP))

"""Unit tests for the job cost estimate, against values worked out by hand."""
from __future__ import annotations

import pytest

from domain.errors import ValidationProblem
from domain.estimate import estimate_cost


def test_a_typical_story_costs_what_the_price_list_says() -> None:
    # 1000 chars -> 250 tokens x 0.000002 = 0.0005; 5 images x 0.04 = 0.2;
    # TTS 1000 x 0.000016 = 0.016; render 5 x 3 s x 0.01 = 0.15; sum 0.3665.
    assert estimate_cost(1000, 5, 1) == {
        "currency": "USD",
        "low": 0.2932,
        "expected": 0.3665,
        "high": 0.4398,
        "breakdown": {"text": 0.0005, "images": 0.2, "tts": 0.016, "render": 0.15},
    }


def test_more_images_per_scene_multiply_only_the_image_cost() -> None:
    # 2800 chars -> 700 tokens = 0.0014; 20 x 3 images = 2.4; TTS 0.0448;
    # render 20 x 3 x 0.01 = 0.6; sum 3.0462.
    estimate = estimate_cost(2800, 20, 3)

    assert estimate["breakdown"] == {"text": 0.0014, "images": 2.4, "tts": 0.0448, "render": 0.6}
    assert estimate["expected"] == 3.0462
    assert estimate["low"] == 2.43696
    assert estimate["high"] == 3.65544


def test_amounts_are_rounded_to_six_decimals() -> None:
    # 7 chars -> 1.75 tokens = 0.0000035 -> 0.000004 (half up); TTS 0.000112;
    # 1 image 0.04; render 0.03; sum 0.0701155 -> 0.070116.
    estimate = estimate_cost(7, 1, 1)

    assert estimate["breakdown"]["text"] == 0.000004
    assert estimate["expected"] == 0.070116
    assert estimate["low"] == 0.056092  # 0.0560924
    assert estimate["high"] == 0.084139  # 0.0841386


def test_amounts_have_no_float_drift() -> None:
    estimate = estimate_cost(3, 3, 1)

    # 0.1 + 0.2 style drift would show as 0.12000000000000001.
    assert estimate["breakdown"]["images"] == 0.12
    assert estimate["breakdown"]["render"] == 0.09
    assert all(isinstance(value, float) for value in estimate["breakdown"].values())


def test_nothing_to_render_costs_nothing() -> None:
    estimate = estimate_cost(0, 0, 1)

    assert estimate["low"] == estimate["expected"] == estimate["high"] == 0.0


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((-1, 1, 1), "story_chars"),
        ((10, -1, 1), "scene_count"),
        ((10, 1, -1), "images_per_scene"),
        ((10.5, 1, 1), "story_chars"),
        ((10, True, 1), "scene_count"),
    ],
)
def test_negative_or_non_integer_inputs_are_refused(args: tuple, field: str) -> None:
    with pytest.raises(ValidationProblem) as raised:
        estimate_cost(*args)

    assert raised.value.field == field

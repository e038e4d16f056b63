"""Story segmentation: the rule that cuts a story's text into scenes of bounded length."""
from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from domain.errors import EmptyStory, ValidationProblem
from domain.text import is_blank

MIN_LENGTH = 100
MAX_LENGTH = 280
LENGTH_CEILING = 2000

# The full-width forms of ！？；， are Chinese sentence punctuation, not stray
# full-width ASCII: they stay as they are, so a Chinese story keeps its look.
# Splitting still treats both forms as terminators and commas, so a story that
# mixes them (or types ASCII ones) is cut the same way.
_KEEP_FULL_WIDTH = frozenset("！？；，")
_TO_HALF_WIDTH = {
    code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in _KEEP_FULL_WIDTH
}
_TO_HALF_WIDTH[0x3000] = 0x20

_CJK_TERMINATORS = frozenset("。！？；")
_ASCII_TERMINATORS = frozenset(".!?;")
_TERMINATORS = _CJK_TERMINATORS | _ASCII_TERMINATORS
_CJK_COMMAS = frozenset("，、")
_CLOSERS = frozenset("\"')]}”’」』）》〉】〕")
# Characters that belong to the text before them: a scene never starts with one.
_TRAILING = _TERMINATORS | _CJK_COMMAS | _CLOSERS | frozenset(",…")
# ASCII marks that sit inside a token (3.14, 1,000, 12:30, don't): never a cut.
_INNER_MARKS = frozenset(".,:'")

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

# Break priorities, best first. A break at q cuts text[:q] from text[q:].
_LINE = 4
_SENTENCE = 3
_CLAUSE = 2
_WORD = 1  # a space or a punctuation mark
_CHARACTER = 0  # between two characters that are not both inside an ASCII word

# How far a unit is already broken down. An atomic unit is a paragraph that
# fits, which the rule keeps whole; a sentence may still be split at commas.
_ATOMIC, _SENTENCE_UNIT, _CLAUSE_UNIT, _PIECE_UNIT = range(4)


def normalise(text: str) -> str:
    """Return the text with Windows/Mac line ends and full-width ASCII made plain."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.translate(_TO_HALF_WIDTH)


def segment(text: str, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH) -> list[str]:
    """Cut a story into scene texts of 1..max_length characters, reaching min_length where it can."""
    _check_bounds(min_length, max_length)
    if not isinstance(text, str):
        raise ValidationProblem("story text must be a string", field="text")
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(normalise(text))]
    paragraphs = [p for p in paragraphs if not is_blank(p)]
    if not paragraphs:
        raise EmptyStory("story text is empty", field="text")
    scenes = _pack(_units(paragraphs, max_length), min_length, max_length)
    return [scene.text for scene in _repair(scenes, min_length, max_length)]


def check_scene_text(
    text: str, min_length: int = MIN_LENGTH, max_length: int = MAX_LENGTH
) -> list[str]:
    """Return the warnings about an edited scene text; raise when it cannot be a scene."""
    _check_bounds(min_length, max_length)
    if not isinstance(text, str):
        raise ValidationProblem("scene text must be a string", field="text")
    length = len(text.strip())
    if is_blank(text):
        raise ValidationProblem("scene text is empty", field="text")
    if length > max_length:
        raise ValidationProblem(
            f"scene text is longer than {max_length} characters ({length})", field="text"
        )
    if length < min_length:
        return [f"scene text is shorter than {min_length} characters"]
    return []


def _check_bounds(min_length: object, max_length: object) -> None:
    for name, value in (("min_length", min_length), ("max_length", max_length)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationProblem(f"{name} must be an integer", field=name)
        if not 1 <= value <= LENGTH_CEILING:
            raise ValidationProblem(
                f"{name} must be between 1 and {LENGTH_CEILING}, got {value}", field=name
            )
    if min_length > max_length:  # type: ignore[operator]
        raise ValidationProblem(
            f"min_length ({min_length}) must not exceed max_length ({max_length})",
            field="min_length",
        )


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str  # stripped, never empty
    sep: str  # the whitespace that followed it in the story
    level: int
    starts_paragraph: bool = False


@dataclass(frozen=True, slots=True)
class _Scene:
    text: str
    sep: str
    # Whole paragraphs inside the scene, as (start, end): a paragraph that fits
    # is never re-cut by the repairs.
    spans: tuple[tuple[int, int], ...] = ()

    def joined(self, other: _Scene | _Unit) -> _Scene:
        offset = len(self.text) + len(self.sep)
        if isinstance(other, _Unit):
            extra = ((offset, offset + len(other.text)),) if other.level == _ATOMIC else ()
        else:
            extra = tuple((start + offset, end + offset) for start, end in other.spans)
        return _Scene(self.text + self.sep + other.text, other.sep, self.spans + extra)

    def fits_with(self, other: _Scene | _Unit, max_length: int) -> bool:
        return len(self.text) + len(self.sep) + len(other.text) <= max_length


def _units(paragraphs: list[str], max_length: int) -> list[_Unit]:
    units: list[_Unit] = []
    for paragraph in paragraphs:
        if len(paragraph) <= max_length:
            units.append(_Unit(paragraph, "\n", _ATOMIC, starts_paragraph=True))
            continue
        sentences = _split(paragraph, _SENTENCE)
        for index, (sentence, sep) in enumerate(sentences):
            last = index == len(sentences) - 1
            units.append(_Unit(sentence, "\n" if last else sep, _SENTENCE_UNIT, index == 0))
    return units


def _pack(units: list[_Unit], min_length: int, max_length: int) -> list[_Scene]:
    queue = deque(units)
    scenes: list[_Scene] = []
    current: _Scene | None = None
    # A scene cut by length alone should still be a full one, not a stub.
    cut_from = max(min_length, max_length * 3 // 4)
    while queue:
        unit = queue.popleft()
        if current is not None and unit.starts_paragraph and len(current.text) >= min_length:
            scenes.append(current)
            current = None
        if current is None:
            if len(unit.text) <= max_length:
                spans = ((0, len(unit.text)),) if unit.level == _ATOMIC else ()
                current = _Scene(unit.text, unit.sep, spans)
                continue
            queue.extendleft(reversed(_smaller(unit, cut_from, max_length)))
            continue
        if current.fits_with(unit, max_length):
            current = current.joined(unit)
            continue
        if len(current.text) >= min_length or unit.level == _ATOMIC:
            scenes.append(current)
            current = None
            queue.appendleft(unit)
            continue
        # The scene is still short and the next unit does not fit whole: take
        # only its head, so no scene closes before reaching the minimum.
        if unit.level == _SENTENCE_UNIT and _has_break(unit.text, _CLAUSE):
            queue.extendleft(reversed(_clauses(unit)))
            continue
        room = max_length - len(current.text) - len(current.sep)
        if room < 1:
            scenes.append(current)
            current = None
            queue.appendleft(unit)
            continue
        need = min_length - len(current.text) - len(current.sep)
        head, rest = _cut(unit, max(1, need), room)
        scenes.append(current.joined(head))
        current = None
        queue.appendleft(rest)
    if current is not None:
        scenes.append(current)
    return scenes


def _smaller(unit: _Unit, low: int, max_length: int) -> list[_Unit]:
    if unit.level == _SENTENCE_UNIT and _has_break(unit.text, _CLAUSE):
        return _clauses(unit)
    return list(_cut(unit, low, max_length))


def _clauses(unit: _Unit) -> list[_Unit]:
    parts = _split(unit.text, _CLAUSE)
    return [
        _Unit(
            text,
            unit.sep if index == len(parts) - 1 else sep,
            _CLAUSE_UNIT,
            unit.starts_paragraph and index == 0,
        )
        for index, (text, sep) in enumerate(parts)
    ]


def _cut(unit: _Unit, low: int, high: int) -> tuple[_Unit, _Unit]:
    text = unit.text
    position = _last_break(text, low, high, _WORD)
    if position is None:
        position = _last_break(text, low, high, _CHARACTER)
    if position is None:
        position = high
    head, sep, rest = _split_at(text, position)
    return (
        _Unit(head, sep, _PIECE_UNIT, unit.starts_paragraph),
        _Unit(rest, unit.sep, _PIECE_UNIT),
    )


def _repair(scenes: list[_Scene], min_length: int, max_length: int) -> list[_Scene]:
    # Each step removes a short scene (or a scene), so the loop ends.
    changed = True
    while changed:
        changed = False
        for index, scene in enumerate(scenes):
            if len(scene.text) >= min_length:
                continue
            if index + 1 < len(scenes) and scene.fits_with(scenes[index + 1], max_length):
                scenes[index : index + 2] = [scene.joined(scenes[index + 1])]
            elif index > 0 and scenes[index - 1].fits_with(scene, max_length):
                scenes[index - 1 : index + 1] = [scenes[index - 1].joined(scene)]
            elif index > 0 and (
                pair := _rebalance(scenes[index - 1], scene, min_length, max_length)
            ):
                scenes[index - 1 : index + 1] = list(pair)
            elif index + 1 < len(scenes) and (
                pair := _rebalance(scene, scenes[index + 1], min_length, max_length)
            ):
                scenes[index : index + 2] = list(pair)
            else:
                continue
            changed = True
            break
    return scenes


def _rebalance(
    left: _Scene, right: _Scene, min_length: int, max_length: int
) -> tuple[_Scene, _Scene] | None:
    whole = left.joined(right)
    text = whole.text
    best: tuple[int, int, int] | None = None  # (priority, -imbalance, position)
    for position in range(min_length, min(max_length, len(text) - 1) + 1):
        priority = _priority(text, position)
        if priority is None or any(start < position < end for start, end in whole.spans):
            continue
        rest_length = len(text[position:].lstrip())
        if not min_length <= rest_length <= max_length:
            continue
        candidate = (priority, -abs(position - rest_length), position)
        if best is None or candidate > best:
            best = candidate
    if best is None:
        return None
    position = best[2]
    head, sep, rest = _split_at(text, position)
    offset = len(text) - len(rest)
    return (
        _Scene(head, sep, tuple(s for s in whole.spans if s[1] <= position)),
        _Scene(
            rest,
            right.sep,
            tuple((s - offset, e - offset) for s, e in whole.spans if s >= position),
        ),
    )


# Where a break of clause priority or better can be (a necessary condition, read off `_priority`):
# a line break needs whitespace holding a newline right after q; a sentence end needs a terminator
# or a closer right before q (`_ends_sentence`); a clause break a comma right before q. Everything
# else is at best a word break. `_priority` still decides at each candidate; this only skips the
# positions it would refuse, so cutting a 4,000-character story no longer asks it ~4,000 times.
# (For str patterns `\s` is exactly `str.isspace()`, tests/unit/test_segmentation.py checks.)
_CLAUSE_MARKS = _TERMINATORS | _CLOSERS | _CJK_COMMAS | frozenset(",")
_CLAUSE_CANDIDATE = re.compile(
    "(?<=[" + re.escape("".join(sorted(_CLAUSE_MARKS))) + r"])|(?=\s*?\n)")


def _breaks(text: str, least: int) -> Iterator[int]:
    """The positions 1..len(text)-1, in order, whose break priority is at least `least`."""
    if least >= _CLAUSE:  # finditer gives each position once, in order
        candidates: Iterable[int] = (q for m in _CLAUSE_CANDIDATE.finditer(text) if 0 < (q := m.start()) < len(text))
    else:
        candidates = range(1, len(text))
    return (q for q in candidates if (p := _priority(text, q)) is not None and p >= least)


def _split(text: str, least: int) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    start = 0
    for position in _breaks(text, least):
        if position <= start:
            continue
        head, sep, _ = _split_at(text[start:], position - start)
        parts.append((head, sep))
        start = position + len(sep)
    parts.append((text[start:], ""))
    return parts


def _split_at(text: str, position: int) -> tuple[str, str, str]:
    head = text[:position].rstrip()
    rest = text[position:].lstrip()
    return head, text[len(head) : len(text) - len(rest)], rest


def _has_break(text: str, least: int) -> bool:
    return next(_breaks(text, least), None) is not None


def _last_break(text: str, low: int, high: int, least: int) -> int | None:
    for position in range(min(high, len(text) - 1), max(low, 1) - 1, -1):
        priority = _priority(text, position)
        if priority is not None and priority >= least:
            return position
    return None


def _priority(text: str, q: int) -> int | None:
    """How good a place q is to cut text[:q] from text[q:]; None when it is no place at all."""
    before, after = text[q - 1], text[q]
    # A cut sits where a word ends, so whitespace goes between scenes, not inside one.
    if before.isspace():
        return None
    if after.isspace():
        end = q
        while end < len(text) and text[end].isspace():
            end += 1
        if "\n" in text[q:end]:
            return _LINE
        if _ends_sentence(text, q, strict=False):
            return _SENTENCE
        if before in _CJK_COMMAS or before == ",":
            return _CLAUSE
        return _WORD
    if after in _TRAILING:
        return None
    if _ends_sentence(text, q, strict=True):
        return _SENTENCE
    if before in _CJK_COMMAS or (before == "," and not after.isascii()):
        return _CLAUSE
    ascii_word = _is_ascii_alnum(after)
    if before in _INNER_MARKS and ascii_word and q >= 2 and _is_ascii_alnum(text[q - 2]):
        return None
    # Cutting after an opening bracket or quote would strand it at a scene's end.
    category = unicodedata.category(before)
    if category.startswith("P") and category not in ("Ps", "Pi"):
        return _WORD
    if _is_ascii_alnum(before) and ascii_word:
        return None
    return _CHARACTER


def _ends_sentence(text: str, q: int, *, strict: bool) -> bool:
    # An ASCII terminator glued to the next ASCII character (3.14, e.g.x) ends
    # no sentence; a Chinese one always does.
    index = q - 1
    while index >= 0 and text[index] in _CLOSERS:
        index -= 1
    if index < 0 or text[index] not in _TERMINATORS:
        return False
    start = index
    while start > 0 and text[start - 1] in _TERMINATORS:
        start -= 1
    if any(ch in _CJK_TERMINATORS for ch in text[start : index + 1]):
        return True
    return not strict or not text[q].isascii()


def _is_ascii_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()

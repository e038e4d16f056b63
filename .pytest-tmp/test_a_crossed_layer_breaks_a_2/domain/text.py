"""Text that reads as nothing: whitespace and invisible characters count as empty."""
from __future__ import annotations

import unicodedata

# Zero-width space, non-joiner and joiner, word joiner, and the byte-order mark / zero-width
# no-break space: they print nothing, so a title made only of them is as empty as "".
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"

# Invisible characters outside the format category (Cf, which covers the five above, the soft
# hyphen, bidi marks, tags…): the combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# Mongolian variation selectors, the braille blank and the variation selectors.
_INVISIBLE_OTHERS = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
                              + "".join(map(chr, range(0xFE00, 0xFE10)))
                              + "".join(map(chr, range(0xE0100, 0xE01F0))))


def _invisible(c: str) -> bool:
    return c.isspace() or c in INVISIBLE or c in _INVISIBLE_OTHERS or unicodedata.category(c) == "Cf"


def is_blank(text: str) -> bool:
    """Whether the text has nothing visible: only whitespace and invisible characters."""
    return all(_invisible(c) for c in text)

"""Text that reads as nothing: whitespace and invisible format characters count as empty."""
from __future__ import annotations

# Zero-width space, non-joiner and joiner, word joiner, and the byte-order mark / zero-width
# no-break space: they print nothing, so a title made only of them is as empty as "".
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def is_blank(text: str) -> bool:
    """Whether the text has nothing visible: only whitespace and invisible characters."""
    return all(c.isspace() or c in INVISIBLE for c in text)

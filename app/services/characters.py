"""Which characters of a text show, and which only steer or hide what is around them."""

from __future__ import annotations

import unicodedata
from bisect import bisect_right

# Format characters that words need: ZERO WIDTH NON-JOINER keeps Persian and Indic
# letters apart where they would join, ZERO WIDTH JOINER builds emoji sequences
# (👩‍👩‍👧) and Indic conjuncts. Every other format character (Unicode category Cf)
# only steers or hides text: the bidirectional controls (U+061C, U+200E, U+200F,
# U+202A-U+202E, U+2066-U+2069) can reverse what follows them on a page, and the
# zero-width space, word joiner, byte order mark and soft hyphen are invisible.
JOINERS = frozenset({"\u200c", "\u200d"})

# Unicode's Default_Ignorable_Code_Point property (DerivedCoreProperties.txt),
# first and last of each range: characters drawn as nothing. Besides format
# characters they include the Hangul fillers and the variation selectors.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_IGNORABLE_STARTS = [first for first, _ in _IGNORABLE_RANGES]


def hidden_controls(text: str) -> list[str]:
    """Return the characters of `text` that only steer or hide text, in order.

    That is every control character (Unicode category Cc) and every format
    character (Cf) but the two joiners (JOINERS). An empty list: none.
    """
    return [
        ch
        for ch in text
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in JOINERS
    ]


def is_ignorable(ch: str) -> bool:
    """Tell whether one character is drawn as nothing (Default_Ignorable_Code_Point)."""
    code = ord(ch)
    index = bisect_right(_IGNORABLE_STARTS, code) - 1
    return index >= 0 and code <= _IGNORABLE_RANGES[index][1]


def has_visible(text: str) -> bool:
    """Tell whether anything of `text` shows, whitespace and ignorables set aside.

    A ZWJ alone (U+200D), a Hangul filler (U+3164) or a variation selector shows
    nothing; a letter, digit, mark or emoji does.
    """
    return any(not ch.isspace() and not is_ignorable(ch) for ch in text)

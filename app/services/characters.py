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

# Characters that are not Default_Ignorable but still draw as nothing: the braille
# pattern blank (U+2800) is a blank cell. The Hangul fillers (U+115F, U+1160,
# U+3164, U+FFA0) are in the ranges above.
BLANKS = frozenset({"\u2800"})

# Unicode categories refused in text that must show what it says: controls (Cc),
# format characters (Cf, but JOINERS), lone surrogates (Cs, which cannot even be
# written as UTF-8), private-use characters (Co, whose look each font makes up)
# and unassigned code points (Cn, which fonts draw as nothing or a box).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


def hidden_controls(text: str) -> list[str]:
    """Return the characters of `text` that steer, hide or show nothing known, in order.

    That is every control character (Unicode category Cc), every format character
    (Cf) but the two joiners (JOINERS), every lone surrogate (Cs), private-use
    character (Co) and unassigned code point (Cn): HIDDEN_CATEGORIES. An empty
    list: none.
    """
    return [
        ch
        for ch in text
        if unicodedata.category(ch) in HIDDEN_CATEGORIES and ch not in JOINERS
    ]


def is_ignorable(ch: str) -> bool:
    """Tell whether one character is drawn as nothing (Default_Ignorable_Code_Point)."""
    code = ord(ch)
    index = bisect_right(_IGNORABLE_STARTS, code) - 1
    return index >= 0 and code <= _IGNORABLE_RANGES[index][1]


def has_visible(text: str) -> bool:
    """Tell whether anything of `text` shows, whitespace, ignorables and blanks aside.

    A ZWJ alone (U+200D), a Hangul filler (U+3164), a variation selector or the
    braille blank (U+2800) shows nothing; a letter, digit, mark or emoji does.
    """
    return any(
        not ch.isspace() and not is_ignorable(ch) and ch not in BLANKS for ch in text
    )

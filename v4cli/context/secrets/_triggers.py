"""Where the rules should look: every place a trigger word occurs, found in four C-speed passes, not ten.

The name/value rules start from identifiers that hold a keyword (``pass``, ``pwd``, ``secret``, ``token``,
``key``, ``auth``, ``cred``, in any case) and three rules only run where an anchor occurs (``[REDACTED:``,
``PRIVATE KEY``, ``AccountKey=``). One ``bytes.find`` pass per trigger would cost as much as the rest of the
scan. Instead, one ``bytes.translate`` maps a few classes of letters to one symbol per class (anything else to
"."), each trigger holds a window that becomes one of four class strings, and ``bytes.split`` on each finds
all its places in one call; each place found is then checked against the text. The classes only decide how
many places are checked in vain, never what is found.

The same view keeps ":", "/" and " " as they are: the URL rule looks for "://" in it, and a span masked with
" " (a marker, a known token) shows, as it would in a lowercase copy of the text.
"""

from __future__ import annotations

import itertools

from v4cli.context.secrets._hit import MARKER_PREFIX

KEYWORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred")
PRIVATE_KEY_ANCHOR = "PRIVATE KEY"  # in every key block's BEGIN line
AZURE_ANCHOR = "AccountKey="

# Letter classes and the symbols they become: tuned on code, where few letter runs of other words fall in one
# of the class strings below. (With "r", "e", "t" in the classes of "AUY", every "return" would be checked.)
# "c" has a class of its own although only "secret" needs it: a class string holding "." (the commonest byte)
# is searched a third slower.
_CLASSES = {"A": "kpr", "U": "ew", "Y": "dny", "S": "s", "B": "a", "C": "u", "D": "t", "E": "h", "F": "c"}
# trigger -> where its window starts and how long it is; the windows become "AUY", "ABSS", "BCDE", "SUFAUD"
_WINDOWS = {
    "pass": (0, 4), "pwd": (0, 3), "secret": (0, 6), "token": (2, 3), "key": (0, 3), "auth": (0, 4),
    "cred": (1, 3), MARKER_PREFIX: (1, 3), PRIVATE_KEY_ANCHOR: (8, 3), AZURE_ANCHOR: (7, 3),
}


def _view_table() -> bytes:
    table = bytearray(b"." * 256)
    for symbol, letters in _CLASSES.items():
        for letter in letters:
            table[ord(letter)] = table[ord(letter.upper())] = ord(symbol)
    for kept in b":/ ":
        table[kept] = kept
    return bytes(table)


VIEW_TABLE = _view_table()


def _checks() -> dict[bytes, dict[bytes, list[tuple[str, int, bytes | None]]]]:
    """class string -> window as it may be written -> (trigger, window offset, trigger bytes to compare, or None
    where the window is the whole keyword and finding the spelling is the check)."""
    checks: dict[bytes, dict[bytes, list[tuple[str, int, bytes | None]]]] = {}
    for trigger, (offset, length) in _WINDOWS.items():
        any_case = trigger in KEYWORDS
        whole = any_case and length == len(trigger)
        entry = (trigger, offset, None if whole else trigger.encode())
        window = trigger[offset : offset + length]
        spellings = map("".join, itertools.product(*({c.lower(), c.upper()} for c in window))) if any_case else [window]
        for spelling in (s.encode() for s in spellings):
            checks.setdefault(spelling.translate(VIEW_TABLE), {}).setdefault(spelling, []).append(entry)
    return checks


_CHECKS = _checks()


def find_triggers(ascii_view: bytes, view: bytes) -> dict[str, list[int]]:
    """Every start of every trigger in the text (``ascii_view``: its ASCII bytes; ``view``: their VIEW_TABLE
    translation, unmasked), in order."""
    found: dict[str, list[int]] = {trigger: [] for trigger in _WINDOWS}
    for needle, windows in _CHECKS.items():
        # split finds the places in one call; as no class string overlaps itself, it misses none of them
        pieces = view.split(needle)
        if len(pieces) == 1:
            continue
        del pieces[-1]
        length = len(needle)
        get = windows.get
        pos = -length
        for piece in pieces:  # most places are other words ("render", ...): one slice and one lookup each
            pos += len(piece) + length
            entries = get(ascii_view[pos : pos + length])
            if entries:
                for trigger, offset, expected in entries:
                    if expected is None:
                        found[trigger].append(pos)
                    elif (start := pos - offset) >= 0:
                        actual = ascii_view[start : start + len(expected)]
                        if (actual.lower() if trigger in KEYWORDS else actual) == expected:
                            found[trigger].append(start)
    return found

"""Keeping what a build sends back small: a stored result and every event have a size cap.

A learner's Dockerfile decides much of what lands in a result (build steps, image history, configuration) and
so in the database and the WebSocket. `fit` shortens JSON data that is over a cap: long texts are cut, long
lists and mappings keep their first items, and a note in words says that it happened. Nothing is dropped
silently, and the shape stays the same (a list of steps stays a list of steps), so the page can still show it.
"""

from __future__ import annotations

import json
from typing import Any

TRUNCATED_NOTE_KEY = "truncated"
CUT_MARK = " … [cut]"
# Where shortening starts; both halve on every round until the data fits.
FIRST_TEXT_CAP = 16 * 1024
FIRST_ITEMS_CAP = 1024
# Below these, shortening gives up and keeps only the top-level numbers and short texts (see _last_resort).
LAST_TEXT_CAP = 64
LAST_ITEMS_CAP = 2


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))


def fit(data: dict[str, Any], limit: int, what: str) -> dict[str, Any]:
    """`data` itself when its JSON is at most `limit` bytes, else a shortened copy with a note under "truncated".

    `what` names the data in the note ("This result").
    """
    size = json_size(data)
    if size <= limit:
        return data
    note = (
        f"{what} was {size // 1024} KiB, more than the {limit // 1024} KiB the site keeps, so long texts and "
        "lists in it were shortened."
    )
    room = limit - json_size({TRUNCATED_NOTE_KEY: note})
    text_cap, items_cap = FIRST_TEXT_CAP, FIRST_ITEMS_CAP
    while text_cap >= LAST_TEXT_CAP:
        shortened = _shorten(data, text_cap, items_cap)
        if json_size(shortened) <= room:
            return {**shortened, TRUNCATED_NOTE_KEY: note}
        text_cap, items_cap = text_cap // 2, max(items_cap // 2, LAST_ITEMS_CAP)
    return {**_last_resort(data, room), TRUNCATED_NOTE_KEY: note}


def _shorten(value: Any, text_cap: int, items_cap: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= text_cap else value[:text_cap] + CUT_MARK
    if isinstance(value, list):
        return [_shorten(item, text_cap, items_cap) for item in value[:items_cap]]
    if isinstance(value, dict):
        kept = list(value.items())[:items_cap]
        return {str(key)[:text_cap]: _shorten(item, text_cap, items_cap) for key, item in kept}
    return value


def _last_resort(data: dict[str, Any], room: int) -> dict[str, Any]:
    """Only the top-level numbers, booleans and short texts, as many as fit: always small enough."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, bool | int | float) or value is None:
            candidate = value
        elif isinstance(value, str):
            candidate = _shorten(value, 200, 0)
        else:
            continue
        if json_size({**kept, key: candidate}) <= room:
            kept[key] = candidate
    return kept

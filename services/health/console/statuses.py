"""The one status table: colour (Okabe-Ito, safe for colour-blind eyes), glyph and label of each status.

GET /v1/health/statuses serves it and the console draws from it, so the page never restates it; a test
checks it covers every status of the schema.
"""

from typing import Any

# (status, colour, shape for the map, text glyph, Vietnamese label, English label)
STATUS_TABLE: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("online", "#009E73", "circle", "●", "Hoạt động", "Online"),
    ("degraded", "#E69F00", "triangle", "▲", "Suy giảm", "Degraded"),
    ("offline", "#D55E00", "cross", "✖", "Mất kết nối", "Offline"),
    ("maintenance", "#0072B2", "diamond", "◆", "Bảo trì", "Maintenance"),
    ("unknown", "#CC79A7", "ring", "○", "Không rõ", "Unknown"),
)


def status_table() -> list[dict[str, Any]]:
    """The table as the API serves it."""
    return [
        {"status": s, "colour": c, "shape": shape, "glyph": g, "label": {"vi": vi, "en": en}}
        for s, c, shape, g, vi, en in STATUS_TABLE
    ]

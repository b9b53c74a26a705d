"""The camera CSV file that the export writes and the import reads back: its columns, the tags cell and
the formula guard, each in both directions, so export -> import gives back every value."""

from typing import Any

from services.registry.schemas import CameraRead

# A camera as the API reads it, one column per field: the import accepts every column of an export
# (and ignores the ones the database owns).
COLUMNS = tuple(CameraRead.model_fields)
TAG_SEPARATOR = "|"
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection: a camera named
# "=HYPERLINK(...)" would act in the field team's Excel). The export puts an apostrophe, which
# spreadsheets read as "text follows", before such a cell and before one that starts with an apostrophe;
# the import takes exactly that apostrophe off again, so export -> import gives back every value.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def text_from_sheet(cell: str) -> str:
    """A cell without the apostrophe the export put before a formula-like text (text_to_sheet's inverse)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def text_to_sheet(text: str) -> str:
    """Text a spreadsheet shows as it is instead of running it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_value(name: str, raw: str) -> Any:
    """The value of column `name` in an imported cell: tags split, an empty cell None (value_cell's inverse)."""
    raw = text_from_sheet(raw)
    if name == "tags":
        return [tag.strip() for tag in raw.split(TAG_SEPARATOR) if tag.strip()]
    return raw if raw.strip() else None


def value_cell(name: str, value: Any) -> str:
    """The exported cell of column `name` (an audited value: text, number, list of tags or None)."""
    if value is None:
        return ""
    if name == "tags":
        return text_to_sheet(TAG_SEPARATOR.join(value))
    if isinstance(value, float):
        return repr(value)
    return text_to_sheet(str(value))

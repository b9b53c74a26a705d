"""CSV export of cameras: the list filters, streamed a keyset page at a time (import accepts the file)."""

import csv
import io
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.audit import audit_value
from services.registry.csv_format import COLUMNS, value_cell
from services.registry.schemas import DATABASE_OWNED
from services.registry.search import CameraFilters, camera_page
from services.registry.service import camera_state
from shared.models import Camera


def export_line(camera: Camera) -> list[str]:
    """One camera as an export row (stream credentials masked)."""
    state = camera_state(camera)
    state.update({name: audit_value(getattr(camera, name)) for name in DATABASE_OWNED})
    return [value_cell(name, state[name]) for name in COLUMNS]


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession], *, filters: CameraFilters, page: int = 1000
) -> AsyncIterator[bytes]:
    """The matching cameras as CSV, streamed a keyset page at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    after: str | None = None
    while True:
        async with sessionmaker() as session:
            cameras = await camera_page(session, filters=filters, limit=page, after=after)
        for camera in cameras:
            writer.writerow(export_line(camera))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if len(cameras) < page:
            return
        after = cameras[-1].code

"""Helpers of the import and export tests: post a file to the import, read the export back."""

import csv
import io

import httpx

HEADER = "code,name,latitude,longitude,district,kind,tags\n"
CSV = {"content-type": "text/csv"}
JSONL = {"content-type": "application/x-ndjson"}


async def post_import(
    registry: httpx.AsyncClient,
    headers: dict[str, str],
    body: str | bytes,
    *,
    kind: dict[str, str] = CSV,
    dry_run: bool = False,
) -> httpx.Response:
    """POST a file to /v1/cameras/import."""
    url = "/v1/cameras/import" + ("?dry_run=true" if dry_run else "")
    data = body.encode() if isinstance(body, str) else body
    return await registry.post(url, content=data, headers={**headers, **kind})


async def exported_rows(registry: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, str]]:
    """The rows of a full export, by column."""
    text = (await registry.get("/v1/cameras/export", headers=admin)).text
    return list(csv.DictReader(io.StringIO(text)))

"""Registration (client.py) against a real registry: a 2025 fleet by ward alone, tokens from the import."""

from citycam.cli.common import progress_bar
from citycam.simulator import client
from citycam.simulator.client import register
from citycam.simulator.fleet import generate_fleet


async def test_a_ward_fleet_registers_with_every_token_from_the_import(registry_server, monkeypatch) -> None:
    rotated: list[str] = []
    original = client._rotate_cameras

    async def counting(http, codes, creds, progress, concurrency):  # type: ignore[no-untyped-def]
        rotated.extend(code for code in codes if code not in creds.camera_tokens)
        await original(http, codes, creds, progress, concurrency)

    monkeypatch.setattr(client, "_rotate_cameras", counting)
    fleet = generate_fleet(60, seed=8, area_set="2025")
    with progress_bar() as progress:
        creds = await register(fleet, registry_url=registry_server.url, api_key=registry_server.key, progress=progress)
    assert creds.rejected == {}
    assert set(creds.camera_tokens) == {c.code for c in fleet.cameras}
    assert creds.import_used.startswith("POST /v1/cameras/import")
    assert rotated == []  # no rotate-token call: the import gave every created camera its token

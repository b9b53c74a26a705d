"""GET /v1/gateways/self/cameras: the calling gateway's cameras, by its device token, with an ETag."""

from tests.helpers import bearer

GATEWAY = {"code": "PROBE-BTH-1", "name": "Probe agent Bình Thạnh", "district": "BTH", "kind": "probe"}


async def _gateway(registry, admin, **overrides) -> tuple[dict, dict[str, str]]:
    r = await registry.post("/v1/gateways", json={**GATEWAY, **overrides}, headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    return body, bearer(body["device_token"])


async def test_the_list_has_the_cameras_behind_the_caller_with_credentials_masked(registry, admin, create) -> None:
    gateway, token = await _gateway(registry, admin)
    other, _ = await _gateway(registry, admin, code="PROBE-BTH-2")
    await create(
        code="BTH-0001", gateway_id=gateway["id"], stream_url="rtsp://admin:hunter2@10.0.0.1/ch1", ip="10.0.0.1"
    )
    await create(code="BTH-0002", gateway_id=gateway["id"], heartbeat_interval_s=60)
    await create(code="BTH-0003", gateway_id=other["id"])
    await create(code="BTH-0004", gateway_id=gateway["id"], lifecycle="planned")
    r = await registry.get("/v1/gateways/self/cameras", headers=token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gateway"] == {"id": gateway["id"], "code": "PROBE-BTH-1", "kind": "probe"}
    assert [c["code"] for c in body["items"]] == ["BTH-0001", "BTH-0002"]
    first = body["items"][0]
    assert first["stream_url"] == "rtsp://***@10.0.0.1/ch1" and first["ip"] == "10.0.0.1"
    assert body["items"][1]["heartbeat_interval_s"] == 60
    assert "hunter2" not in r.text
    assert r.headers["etag"] == f'"{body["version"]}"' and body["next_cursor"] is None


async def test_an_unchanged_list_is_a_304(registry, admin, create) -> None:
    gateway, token = await _gateway(registry, admin)
    await create(code="BTH-0001", gateway_id=gateway["id"])
    etag = (await registry.get("/v1/gateways/self/cameras", headers=token)).headers["etag"]
    r = await registry.get("/v1/gateways/self/cameras", headers={**token, "If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag


async def test_a_camera_changing_joining_or_leaving_changes_the_etag(registry, admin, create) -> None:
    gateway, token = await _gateway(registry, admin)
    camera = await create(code="BTH-0001", gateway_id=gateway["id"])
    tags = [(await registry.get("/v1/gateways/self/cameras", headers=token)).headers["etag"]]
    await registry.patch(f"/v1/cameras/{camera['id']}", json={"heartbeat_interval_s": 10}, headers=admin)
    tags.append((await registry.get("/v1/gateways/self/cameras", headers=token)).headers["etag"])
    await create(code="BTH-0002", gateway_id=gateway["id"])
    tags.append((await registry.get("/v1/gateways/self/cameras", headers=token)).headers["etag"])
    await registry.delete(f"/v1/cameras/{camera['id']}", headers=admin)
    tags.append((await registry.get("/v1/gateways/self/cameras", headers=token)).headers["etag"])
    assert len(set(tags)) == 4


async def test_without_a_token_or_with_an_api_key_it_is_401(registry, admin) -> None:
    assert (await registry.get("/v1/gateways/self/cameras")).status_code == 401
    assert (await registry.get("/v1/gateways/self/cameras", headers=admin)).status_code == 401


async def test_a_cameras_token_is_403(registry, create) -> None:
    camera = await create(code="BTH-0001")
    r = await registry.get("/v1/gateways/self/cameras", headers=bearer(camera["device_token"]))
    assert r.status_code == 403


async def test_a_rotated_token_stops_working(registry, admin) -> None:
    gateway, token = await _gateway(registry, admin)
    await registry.post(f"/v1/gateways/{gateway['id']}/rotate-token", headers=admin)
    assert (await registry.get("/v1/gateways/self/cameras", headers=token)).status_code == 401


async def test_no_gateway_may_be_coded_self(registry, admin) -> None:
    r = await registry.post("/v1/gateways", json={**GATEWAY, "code": "Self"}, headers=admin)
    assert r.status_code == 422


async def test_a_gateway_is_a_plain_gateway_unless_registered_as_a_probe(registry, admin) -> None:
    r = await registry.post("/v1/gateways", json={**GATEWAY, "code": "NVR-1", "kind": None}, headers=admin)
    assert r.status_code == 422
    body, _ = await _gateway(registry, admin, code="NVR-2", kind="gateway")
    plain = {k: v for k, v in GATEWAY.items() if k != "kind"}
    created = (await registry.post("/v1/gateways", json={**plain, "code": "NVR-3"}, headers=admin)).json()
    assert body["kind"] == "gateway" and created["kind"] == "gateway"


async def test_the_path_is_documented_in_openapi(registry) -> None:
    paths = (await registry.get("/openapi.json")).json()["paths"]
    assert "304" in paths["/v1/gateways/self/cameras"]["get"]["responses"]

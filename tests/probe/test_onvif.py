"""ONVIF GetSystemDateAndTime against a fake device with its clock set off."""

import httpx

from services.probe.onvif import system_date_and_time
from tests.helpers import free_port
from tests.probe.fakecam import FakeCamera, FakeOnvif, Script


async def test_the_skew_of_the_device_clock_is_measured() -> None:
    async with FakeOnvif(offset_s=-600) as device, httpx.AsyncClient() as client:
        clock = await system_date_and_time(client, device.url, timeout=2)
    assert clock.reachable and clock.clock_skew_s is not None and abs(clock.clock_skew_s + 600) < 2


async def test_the_call_carries_no_credentials() -> None:
    async with FakeOnvif() as device, httpx.AsyncClient() as client:
        await system_date_and_time(client, device.url, timeout=2)
    assert device.calls and "authorization" not in device.calls[0]
    assert "GetSystemDateAndTime" in device.calls[0]["content-type"]


async def test_a_device_without_utc_is_reachable_with_no_skew() -> None:
    async with FakeOnvif(utc=False) as device, httpx.AsyncClient() as client:
        clock = await system_date_and_time(client, device.url, timeout=2)
    assert clock.reachable and clock.clock_skew_s is None


async def test_a_closed_port_is_unreachable() -> None:
    async with httpx.AsyncClient() as client:
        clock = await system_date_and_time(client, f"http://127.0.0.1:{free_port()}/onvif/device_service", timeout=1)
    assert not clock.reachable


async def test_a_silent_port_is_unreachable_after_the_time_limit() -> None:
    async with FakeCamera(Script(mode="silent")) as silent, httpx.AsyncClient() as client:
        clock = await system_date_and_time(client, f"http://127.0.0.1:{silent.port}/onvif", timeout=0.3)
    assert not clock.reachable and "0.3" in (clock.detail or "")

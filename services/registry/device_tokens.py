"""Device tokens of cameras and gateways: issued with a new device (the secret shown once), revoked,
replaced, and the NOTIFY that makes ingest drop a device's cached credentials."""

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.audit import created, record_change
from services.registry.devices import AnyDevice, Device, device_kind, device_owner
from services.registry.masking import MASK
from services.registry.schemas import DeviceTokenIssued
from shared.auth import Principal
from shared.errors import Conflict
from shared.models import DeviceCredential
from shared.notify import DEVICE_CHANGED
from shared.tokens import IssuedSecret, issue_device_token


def issue_token(session: AsyncSession, *, device: Device) -> IssuedSecret:
    """Issue a device token for one camera or gateway; only its hash is stored, the secret is returned once."""
    issued = issue_device_token()
    session.add(DeviceCredential(token_hash=issued.hash, prefix=issued.prefix, **device_owner(device)))
    return issued


async def add_device(
    session: AsyncSession,
    *,
    device: AnyDevice,
    state: Callable[[AnyDevice], dict[str, Any]],
    principal: Principal,
    request_id: str | None,
) -> str:
    """Insert a new camera or gateway with its first device token and its audited creation; the token's secret."""
    session.add(device)
    await session.flush()
    issued = issue_token(session, device=device)
    await record_change(
        session,
        device=device,
        principal=principal,
        request_id=request_id,
        action="create",
        changes=created(state(device)),
    )
    await session.flush()
    await session.refresh(device)
    return issued.secret


async def revoke_tokens(session: AsyncSession, *, device: Device) -> None:
    """Revoke the live device tokens of this camera or gateway."""
    await session.execute(
        update(DeviceCredential)
        .filter_by(**device_owner(device))
        .where(DeviceCredential.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def notify_device_changed(session: AsyncSession, *, device: Device) -> None:
    """Tell other services (ingest's token cache) that this device changed; delivered on commit."""
    payload = json.dumps({"kind": device_kind(device), "id": str(device.id)})
    await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": DEVICE_CHANGED, "payload": payload})


async def replace_token(
    session: AsyncSession, *, device: Device, principal: Principal, request_id: str | None, issue_new: bool
) -> DeviceTokenIssued | None:
    """Revoke the device's live token and, when issue_new, issue a new one (shown once); audited and notified."""
    principal.require_district(device.district)
    if issue_new and device.lifecycle == "decommissioned":
        raise Conflict(f"a decommissioned {device_kind(device)} gets no device token")
    await revoke_tokens(session, device=device)
    await session.flush()
    issued = issue_token(session, device=device) if issue_new else None
    await record_change(
        session,
        device=device,
        principal=principal,
        request_id=request_id,
        action="rotate-token" if issue_new else "revoke-token",
        changes={"device_token": {"from": MASK, "to": MASK if issue_new else None}},
    )
    await notify_device_changed(session, device=device)
    await session.flush()
    if issued is None:
        return None
    return DeviceTokenIssued(id=device.id, code=device.code, device_token=issued.secret, prefix=issued.prefix)

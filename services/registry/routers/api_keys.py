"""API key endpoints (admins only)."""

import uuid

from fastapi import APIRouter, Response, status

from services.registry import api_keys
from services.registry.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from shared.auth import Admin
from shared.db import SessionDep
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter()


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    tags=["api-keys"],
    summary="Create an API key",
)
async def create_api_key(data: ApiKeyCreate, session: SessionDep, principal: Admin) -> ApiKeyCreated:
    return await api_keys.create_api_key(session, data=data)


@router.get("/api-keys", tags=["api-keys"], summary="List API keys")
async def list_api_keys(
    session: SessionDep,
    principal: Admin,
    include_revoked: bool = False,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[ApiKeyRead]:
    items, next_cursor = await api_keys.list_api_keys(
        session, include_revoked=include_revoked, limit=limit, cursor=cursor
    )
    return Page[ApiKeyRead](items=items, next_cursor=next_cursor)


@router.get(
    "/api-keys/{key_id}",
    tags=["api-keys"],
    summary="One API key",
    responses={404: {"description": "No such key"}},
)
async def get_api_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> ApiKeyRead:
    return api_keys.api_key_read(await api_keys.get_api_key(session, key_id=key_id))


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["api-keys"],
    summary="Revoke an API key",
    responses={
        404: {"description": "No such key"},
        409: {"description": "A key cannot revoke itself"},
    },
)
async def revoke_api_key(key_id: uuid.UUID, session: SessionDep, principal: Admin) -> Response:
    await api_keys.revoke_api_key(session, key_id=key_id, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

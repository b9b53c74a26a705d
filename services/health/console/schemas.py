"""Console request and response bodies."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.health.schemas import Status
from shared.schemas import StrictModel


class SessionCreate(StrictModel):
    api_key: str = Field(min_length=8, max_length=512, description="An API key; exchanged, never stored")


class SessionRead(BaseModel):
    name: str = Field(description="The API key's name")
    role: str
    districts: list[str] | None = Field(description="Districts this session may act on (null: every district)")
    can_ack: bool = Field(description="Whether this session may acknowledge incidents")
    expires_at: datetime
    csrf_token: str = Field(description="Send as X-CSRF-Token with every write made with the cookie")


class StatusLabel(BaseModel):
    vi: str
    en: str


class StatusStyle(BaseModel):
    status: Status
    colour: str = Field(description="Okabe-Ito colour, #RRGGBB")
    shape: Literal["circle", "triangle", "cross", "diamond", "ring"] = Field(description="Map glyph")
    glyph: str = Field(description="Text glyph beside the label")
    label: StatusLabel


class CameraDevice(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    address: str | None
    road: str | None
    direction: str | None
    kind: str
    vendor: str | None
    model: str | None
    firmware: str | None
    ip: str | None
    stream_url: str | None = Field(description="As stored: never with credentials")
    stream_credentials: bool = Field(description="Whether the registry holds credentials for the stream")
    lifecycle: str
    owner: str | None
    gateway_code: str | None
    tags: list[str]
    installed_at: datetime | None

"""health endpoints; the logic lives in service.py."""

from fastapi import APIRouter

router = APIRouter(prefix="/v1")

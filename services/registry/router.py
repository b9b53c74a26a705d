"""Registry endpoints, one thin router per resource (routers/); each calls the module of its concept."""

from fastapi import APIRouter

from services.registry.routers import api_keys, areas, cameras, gateways

router = APIRouter(prefix="/v1")
for resource in (cameras, gateways, areas, api_keys):
    router.include_router(resource.router)

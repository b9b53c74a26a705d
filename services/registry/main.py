"""The registry service: the camera inventory (port 8001)."""

from services.registry.router import router
from services.registry.settings import get_registry_settings
from shared.app import create_app

app = create_app(
    service="registry",
    title="citycam registry",
    description="The camera inventory: cameras, gateways, areas and API keys.",
    routers=[router],
    path_limits=[("/v1/cameras/import", get_registry_settings().import_max_body_bytes)],
)

"""The ingest service (port 8002)."""

from services.ingest.router import router
from shared.app import create_app

app = create_app(
    service="ingest",
    title="citycam ingest",
    description="Durable heartbeats from cameras and gateways.",
    routers=[router],
)

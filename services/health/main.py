"""The health service (port 8003)."""

from services.health.router import router
from shared.app import create_app

app = create_app(
    service="health",
    title="citycam health",
    description="Live camera and district health.",
    routers=[router],
)

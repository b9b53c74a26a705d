"""/docs and /redoc served from the app itself: FastAPI's pages load their assets from a public CDN,
a blank page on an operations-centre network with no internet."""

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# The assets come from the fastapi-offline wheel (Swagger UI 5, ReDoc 2, a favicon), not from copies
# pasted into this repository: `uv lock` pins and upgrades them like any other dependency.
ASSETS = files("fastapi_offline") / "static"
ASSETS_PATH = "/docs/assets"


def install_offline_docs(app: FastAPI) -> None:
    """Serve /docs (Swagger UI) and /redoc with their scripts, styles and icon from ASSETS_PATH."""
    app.mount(ASSETS_PATH, StaticFiles(directory=str(ASSETS)), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            # Swagger UI's default sends the schema to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            # ReDoc's default loads Montserrat and Roboto from Google Fonts.
            with_google_fonts=False,
        )

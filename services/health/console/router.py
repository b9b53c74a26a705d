"""Console endpoints: sign-in sessions, the status table, a camera's registry fields, the page itself."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse

from services.health.console import sessions
from services.health.console.schemas import CameraDevice, SessionCreate, SessionRead, StatusStyle
from services.health.console.service import camera_device
from services.health.console.settings import get_console_settings
from services.health.console.statuses import status_table
from services.health.dependencies import INCIDENT_ACKERS
from shared.auth import HealthReader
from shared.db import SessionDep
from shared.errors import NotFound, Unauthorized

router = APIRouter()
STATIC = Path(__file__).parent / "static"
# The page's files, by name: nothing else under static/ (or beside it) is ever served.
ASSETS = {p.name: p for p in STATIC.iterdir() if p.is_file() and p.suffix in {".js", ".css", ".svg"}}
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# The page loads only its own files and talks only to its own origin.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " media-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SessionCookie = Annotated[str | None, Cookie(alias=sessions.COOKIE, include_in_schema=False)]


def _session_read(signed: sessions.SignedIn) -> SessionRead:
    p = signed.principal
    return SessionRead(
        name=p.name,
        role=p.role,
        districts=list(p.districts) if p.districts is not None else None,
        can_ack=p.role in INCIDENT_ACKERS,
        expires_at=signed.expires_at,
        csrf_token=signed.csrf_token,
    )


def _secure(request: Request) -> bool:
    mode = get_console_settings().cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


@router.post(
    "/v1/console/session",
    status_code=status.HTTP_201_CREATED,
    tags=["console"],
    summary="Sign in: exchange an API key for a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS)",
)
async def sign_in(data: SessionCreate, request: Request, response: Response, session: SessionDep) -> SessionRead:
    signed = await sessions.sign_in(session, api_key=data.api_key)
    response.set_cookie(
        sessions.COOKIE,
        signed.token,
        max_age=get_console_settings().session_ttl_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    response.headers["Cache-Control"] = "no-store"
    return _session_read(signed)


@router.get(
    "/v1/console/session",
    tags=["console"],
    summary="The signed-in session of the cookie, with its CSRF token; 204 when there is none",
    response_model=SessionRead,
    responses={204: {"description": "Not signed in, or the session ended: sign in"}},
)
async def current_session(session: SessionDep, token: SessionCookie = None) -> Response:
    # 204, not 401: asking whether one is signed in is not an error (a page asks on every load).
    headers = {"Cache-Control": "no-store"}
    try:
        signed = await sessions.current(session, token=token)
    except Unauthorized:
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
    return Response(_session_read(signed).model_dump_json(), media_type="application/json", headers=headers)


@router.delete(
    "/v1/console/session",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["console"],
    summary="Sign out: the session ends server-side and the cookie is cleared (X-CSRF-Token required)",
    responses={401: {"description": "Not signed in"}, 403: {"description": "Missing or wrong X-CSRF-Token"}},
)
async def sign_out(request: Request, session: SessionDep, token: SessionCookie = None) -> Response:
    signed = await sessions.current(session, token=token)
    sessions.check_csrf(request, signed.token)
    await sessions.sign_out(session, token=token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get(
    "/v1/health/statuses",
    tags=["health"],
    summary="The status table: colour (Okabe-Ito), map shape, glyph and Vietnamese/English label of each status",
)
async def statuses(principal: HealthReader) -> list[StatusStyle]:
    return [StatusStyle.model_validate(row) for row in status_table()]


@router.get(
    "/v1/health/cameras/{camera}/device",
    tags=["health"],
    summary="A camera's registry fields for a detail view (stream URL as stored: never with credentials)",
    responses={404: {"description": "No such camera"}},
)
async def device(
    camera: Annotated[str, PathParam(min_length=1, max_length=64, description="The camera's UUID or its code")],
    session: SessionDep,
    principal: HealthReader,
) -> CameraDevice:
    return await camera_device(session, ref=camera)


@router.get(
    "/console",
    tags=["console"],
    summary="The operations console (HTML); presets: ?area=BTH&kiosk=1&theme=dark&sound=0&lang=en",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}},
)
async def page() -> Response:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=_page_headers())


@router.get(
    "/console/assets/{name}",
    tags=["console"],
    summary="The console's scripts and styles",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}, "text/css": {}}}, 404: {"description": "No such file"}},
)
async def asset(name: Annotated[str, PathParam(max_length=64)]) -> Response:
    path = ASSETS.get(name)
    if path is None:
        raise NotFound(f"no console asset {name!r}")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=_page_headers())


def _page_headers() -> dict[str, Any]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }

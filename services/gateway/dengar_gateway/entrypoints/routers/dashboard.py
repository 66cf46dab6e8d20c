"""GET /: the single-page dashboard. It only talks to the public API, with the user's key."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

# Everything the page needs is served from this origin: no CDN, no inline script or style.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _index_html() -> str:
    return (resources.files("dengar_gateway") / "static" / "index.html").read_text("utf-8")


@router.get("/")
async def dashboard() -> HTMLResponse:
    return HTMLResponse(_index_html(), headers={
        "Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"})

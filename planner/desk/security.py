"""What keeps the desk safe to run: the token, cross-site form posts, hosts, file names.

Three threats shape this module:
- *Someone else on the network* (the desk bound to a non-loopback address): every
  request must carry the token, as `Authorization: Bearer T` (programs) or as a cookie
  set by the /login form (browsers). The cookie holds an HMAC of the token, never the
  token; both are compared in constant time (`hmac.compare_digest`).
- *A web page the user visits* posting to the desk in the background (cross-site
  request forgery, or a rebound DNS name pointing at 127.0.0.1): a request that
  changes something must come from the desk's own pages (`Origin` and `Sec-Fetch-Site`
  checked when the browser sends them), a page form carries a CSRF token bound to a
  per-browser cookie, and on loopback the `Host` must be a loopback name.
- *A name from a workbook or a form* reaching a header or a path: download names are
  made by the server (`download_name`) and written as RFC 6266 `filename*` with an
  ASCII fallback, so no user text is ever a header unescaped or a file path.

Static assets (/static/desk.css, /static/desk.js) and the /login form are the only
things served without the token: they hold nothing of any run.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import unicodedata
from pathlib import Path
from urllib.parse import quote, urlsplit

#: Cookie names (the `__Host-` prefix needs HTTPS, which a plain uvicorn does not serve).
SESSION_COOKIE = "planner_session"
CSRF_COOKIE = "planner_csrf"
CSRF_FIELD = "csrf"
#: Paths served without the token: nothing in them belongs to a run.
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/login"})

MIN_TOKEN_LENGTH = 16
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or name to bind or to be reached at) is this machine only.

    Names other than `localhost` are not resolved: a name could point anywhere
    tomorrow, so it counts as not loopback (and then needs a token).
    """
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def token_problem(host: str, token: str | None) -> str | None:
    """Why the desk must not start on `host` with `token`, or None when it may."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        return (
            f"the token is {len(token)} characters long; use at least {MIN_TOKEN_LENGTH} "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    if token is None and not is_loopback(host):
        return (
            f"refusing to serve on {host} without a token: anyone who can reach it could "
            "submit and read runs; give --token or set PLANNER_TOKEN (or bind 127.0.0.1)"
        )
    return None


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a secret a request carried with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def session_value(token: str) -> str:
    """The login cookie's value: an HMAC of the token, so the cookie never holds the token
    itself, and a restart with the same token keeps browsers logged in."""
    return hmac.new(token.encode("utf-8"), b"planner-desk-session/1", hashlib.sha256).hexdigest()


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer T` header, else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authorized(token: str, authorization: str | None, session_cookie: str | None) -> bool:
    """Whether a request carries the desk's token (header) or a valid login cookie."""
    header_ok = same_secret(bearer(authorization), token)
    cookie_ok = same_secret(session_cookie, session_value(token))
    return header_ok or cookie_ok


def is_public(path: str) -> bool:
    """Paths served without the token (see the module's docstring)."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def load_secret(data: Path) -> bytes:
    """The desk's own secret for CSRF tokens, kept in the data folder (owner-only) so
    that pages opened before a restart can still be posted after it."""
    path = data / "desk.secret"
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    data.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    staging = data / f".desk.secret.{secrets.token_hex(4)}"
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secret.hex())
    os.replace(staging, path)
    return secret


def new_csrf_cookie() -> str:
    """A fresh per-browser value for the CSRF cookie."""
    return secrets.token_urlsafe(24)


def csrf_token(secret: bytes, cookie: str) -> str:
    """The hidden form field's value for a browser whose CSRF cookie is `cookie`: a page
    on another site can neither read it nor compute it."""
    return hmac.new(secret, b"csrf/1:" + cookie.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, cookie: str | None, field: str | None) -> bool:
    """Whether a form post carries the CSRF token of its own browser's cookie."""
    if not cookie or not field:
        return False
    return same_secret(field, csrf_token(secret, cookie))


def cross_site(
    origin: str | None, fetch_site: str | None, scheme: str, host: str | None
) -> str | None:
    """Why a state-changing request looks cross-site, or None.

    Browsers send `Sec-Fetch-Site` and `Origin` on posts; programs (curl, httpx) send
    neither and are let through (in token mode they need the token anyway).
    """
    if fetch_site and fetch_site.lower() not in ("same-origin", "none"):
        return f"a {fetch_site} request (Sec-Fetch-Site); post from the desk's own pages"
    if origin and origin.lower() != "null":
        parts = urlsplit(origin)
        if host is None or (parts.scheme, parts.netloc.lower()) != (scheme, host.lower()):
            return "a request from another origin; post from the desk's own pages"
    elif origin:  # "null": a sandboxed frame or a privacy-stripped redirect
        return "a request from an opaque origin; post from the desk's own pages"
    return None


def host_ok(host_header: str | None, loopback_only: bool) -> bool:
    """On a loopback desk, the `Host` a browser asked for must be a loopback name too:
    a DNS name rebound to 127.0.0.1 would otherwise read the desk as its own site."""
    if not loopback_only:
        return True
    if not host_header:
        return False
    name = host_header.strip()
    if name.startswith("["):  # [::1]:8000
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    return is_loopback(name)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(text: str, limit: int = 40) -> str:
    """An ASCII piece of a file name made from any text: letters, digits, `._-` only."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("-", plain).strip("-.")[:limit].strip("-.")
    return cleaned


_NOT_NAME = re.compile(r"[^\w.-]+")


def name_part(text: str, limit: int = 40) -> str:
    """A piece of a file name made from any text, keeping letters of every script: only
    word characters, `.` and `-` (no slash, quote, control character or space)."""
    cleaned = _NOT_NAME.sub("-", unicodedata.normalize("NFC", text)).strip("-.")
    return cleaned[:limit].strip("-.")


def download_name(run_id: str, file_name: str, label: str = "") -> str:
    """The name a downloaded file gets: made by the server from the run's label (as
    `name_part`), its id and the allow-listed file name: `Q3-budget-<id>-plans.xlsx`."""
    prefix = name_part(label)
    return f"{prefix + '-' if prefix else ''}{run_id}-{file_name}"


def content_disposition(name: str, inline: bool = False) -> str:
    """An RFC 6266 `Content-Disposition` value: an ASCII fallback `filename` and the UTF-8
    `filename*`, both escaped, whatever characters `name` holds."""
    kind = "inline" if inline else "attachment"
    fallback = slug(name, limit=120) or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


#: Headers on every response: no sniffing, no framing by other sites, no referrer leaks.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: The desk's pages: their own script and styles only, nothing fetched elsewhere.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'self'; "
    "base-uri 'none'; object-src 'none'"
)
#: Files of a run shown in the browser (report.html, chart.svg): no script at all, even
#: if one ever slipped into them, and sandboxed into an origin of their own.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"

"""Logging in and out, the first-admin setup, and changing one's own password."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, BackgroundTasks, Request, Response
from sqlalchemy.orm import Session

from ..accounts import Principal, UserExists
from ..deps import PrincipalDep, ServicesDep
from ..errors import Conflict, Forbidden, TooManyRequests, Unauthorized
from ..models import User
from ..schemas import LoginIn, Me, PasswordChangeIn, Problem, SetupIn, SetupState
from ..security import SESSION_COOKIE, client_address, own_origin
from ..services import Services

router = APIRouter(tags=["auth"])


def me(principal: Principal) -> Me:
    cameras = None if principal.cameras is None else sorted(principal.cameras)
    return Me(
        name=principal.name,
        role=principal.role,
        cameras=None if principal.is_admin else cameras,
        via=principal.via,
        csrf_token=principal.csrf_token,
    )


async def check_password(services: Services, name: str, password: str) -> User | None:
    """The user if ``password`` is theirs; the Argon2 work runs in its own pool."""
    user, stored = await services.db.run(lambda db: services.accounts.login_hash(db, name))
    ok = await services.passwords.verify(stored, password)
    return user if ok and user is not None else None


async def start_session(
    request: Request, response: Response, services: Services, user: User
) -> Principal:
    client = client_address(request)
    user_agent = request.headers.get("user-agent", "")

    def create(db: Session) -> tuple[str, Principal | None]:
        cookie = services.accounts.create_session(db, user, client, user_agent)
        return cookie, services.accounts.resolve_session(db, cookie)

    cookie, principal = await services.db.run(create)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(services.settings.security.session_days * 86400),
        httponly=True,
        samesite="lax",
        secure=own_origin(request).startswith("https:"),
        path="/",
    )
    assert principal is not None
    return principal


async def _throttled(services: Services, keys: tuple[str, ...], client: str, who: str) -> None:
    wait = services.throttle.retry_after(*keys)
    if wait > 0:
        await services.db.run(
            lambda db: services.accounts.audit(
                db, who, "login_throttled", who, client, ok=False, detail=f"{wait:.0f}s"
            )
        )
        raise TooManyRequests(
            f"too many failed attempts; try again in {max(1, round(wait))} s", retry_after=wait
        )


@router.post(
    "/api/auth/login",
    response_model=Me,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 429: {"model": Problem}},
)
async def login(body: LoginIn, request: Request, response: Response, services: ServicesDep) -> Me:
    """Log in with a user name and password; sets the HttpOnly session cookie."""
    client = client_address(request)
    name = body.username
    keys = (f"ip:{client}", f"user:{name.lower()}")
    await _throttled(services, keys, client, name)
    user = await check_password(services, name, body.password)
    if user is None:
        services.throttle.failed(*keys)
        await services.db.run(
            lambda db: services.accounts.audit(db, name, "login_failed", name, client, ok=False)
        )
        raise Unauthorized("wrong user name or password")
    services.throttle.succeeded(*keys)
    principal = await start_session(request, response, services, user)
    await services.db.run(lambda db: services.accounts.audit(db, name, "login", name, client))
    return me(principal)


@router.post("/api/auth/logout", status_code=204, response_class=Response)
async def logout(request: Request, principal: PrincipalDep, services: ServicesDep) -> Response:
    """End this browser session (API tokens are revoked through /api/tokens)."""
    response = Response(status_code=204)
    if principal.session_hash is not None:
        session_hash = principal.session_hash
        await services.db.run(lambda db: services.accounts.end_session(db, session_hash))
        await services.end_sessions([session_hash])
    response.delete_cookie(SESSION_COOKIE, path="/")
    client = client_address(request)
    await services.db.run(
        lambda db: services.accounts.audit(db, principal.name, "logout", principal.name, client)
    )
    return response


@router.get("/api/auth/me", response_model=Me)
async def whoami(principal: PrincipalDep) -> Me:
    """Who the caller is, and the CSRF token of their session."""
    return me(principal)


@router.get("/api/auth/setup", response_model=SetupState)
async def setup_state(services: ServicesDep) -> SetupState:
    """Whether the first admin still has to be created (with the start-up setup code)."""
    return SetupState(needed=await services.setup_pending())


@router.post(
    "/api/auth/setup",
    response_model=Me,
    status_code=201,
    responses={403: {"model": Problem}, 409: {"model": Problem}, 429: {"model": Problem}},
)
async def setup(body: SetupIn, request: Request, response: Response, services: ServicesDep) -> Me:
    """Create the first admin with the one-time code printed at start-up, and log in."""
    client = client_address(request)
    # Per address only: a shared key let anyone on the LAN lock first-run setup for everyone
    # (the 12-character code is out of reach of guessing from any number of addresses).
    keys = (f"setup-ip:{client}",)
    await _throttled(services, keys, client, body.username)
    code = services.setup_code
    if code is None or not await services.setup_pending():
        raise Conflict("setup is done: an admin exists already")
    given = body.code.strip().upper().replace(" ", "")
    if not hmac.compare_digest(given.encode(), code.encode()):
        services.throttle.failed(*keys)
        await services.db.run(
            lambda db: services.accounts.audit(
                db, body.username, "setup_failed", body.username, client, ok=False
            )
        )
        raise Forbidden("wrong setup code (it is printed in the server log at start-up)")

    services.accounts.check_password(body.username, body.password)
    hashed = await services.passwords.hash(body.password)

    def create_first_admin(db: Session) -> User:
        if services.accounts.user_count(db) > 0:
            raise UserExists("setup is done: an admin exists already")
        user = services.accounts.create_user(
            db, body.username, body.password, "admin", None, hashed
        )
        services.accounts.audit(db, body.username, "setup", body.username, client)
        return user

    user = await services.db.run(create_first_admin)
    services.setup_code = None
    services.throttle.succeeded(*keys)
    return me(await start_session(request, response, services, user))


@router.post(
    "/api/auth/password",
    response_model=Me,
    responses={400: {"model": Problem}, 401: {"model": Problem}},
)
async def change_password(
    body: PasswordChangeIn,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Me:
    """Change one's own password. Every session of the user ends; this one is renewed."""
    client = client_address(request)
    keys = (f"ip:{client}", f"user:{principal.name.lower()}")
    await _throttled(services, keys, client, principal.name)
    accounts = services.accounts
    user = await check_password(services, principal.name, body.current_password)
    if user is None:
        services.throttle.failed(*keys)
        raise Forbidden("the current password is wrong")

    accounts.check_password(principal.name, body.new_password)
    hashed = await services.passwords.hash(body.new_password)

    def change(db: Session) -> tuple[list[str], User]:
        hashes = accounts.user_session_hashes(db, principal.user_id)
        updated = accounts.set_password(db, principal.name, body.new_password, hashed)
        accounts.audit(db, principal.name, "password_changed", principal.name, client)
        return hashes, updated

    hashes, updated = await services.db.run(change)
    if principal.via == "session":
        principal = await start_session(request, response, services, updated)
    # The old sessions are gone from the database already; their open sockets close (4401)
    # once this answer is on its way, so the page that changed its password has its new
    # cookie when its live channel asks who it is (on a busy server the close could win).
    background.add_task(services.end_sessions, hashes)
    return me(principal)

"""User management (admins only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from ..accounts import KEEP, Keep
from ..deps import AdminDep, ServicesDep
from ..errors import HTTPProblem
from ..models import User
from ..schemas import PasswordSetIn, Problem, UserIn, UserOut, UserPatch
from ..security import client_address
from ..services import Services

router = APIRouter(tags=["users"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
    409: {"model": Problem},
}


def user_out(user: User) -> UserOut:
    return UserOut(
        name=user.name,
        role="admin" if user.role == "admin" else "viewer",
        cameras=user.cameras,
        created_at=user.created_at,
        password_changed_at=user.password_changed_at,
    )


def check_cameras(services: Services, cameras: list[str] | None) -> None:
    known = {camera.id for camera in services.cameras.all()}
    unknown = sorted(set(cameras or []) - known)
    if unknown:
        raise HTTPProblem(f"unknown camera ids: {', '.join(unknown)}")


@router.get("/api/users", response_model=list[UserOut], responses=ERRORS)
async def list_users(admin: AdminDep, services: ServicesDep) -> list[UserOut]:
    users = await services.db.run(services.accounts.list_users)
    return [user_out(user) for user in users]


@router.post("/api/users", response_model=UserOut, status_code=201, responses=ERRORS)
async def add_user(
    body: UserIn, request: Request, admin: AdminDep, services: ServicesDep
) -> UserOut:
    check_cameras(services, body.cameras)
    client = client_address(request)
    services.accounts.check_password(body.name, body.password)
    hashed = await services.passwords.hash(body.password)

    def create(db: Session) -> User:
        user = services.accounts.create_user(
            db, body.name, body.password, body.role, body.cameras, hashed
        )
        services.accounts.audit(
            db,
            admin.name,
            "user_added",
            body.name,
            client,
            detail=f"role={body.role} cameras={body.cameras}",
        )
        return user

    return user_out(await services.db.run(create))


@router.patch("/api/users/{name}", response_model=UserOut, responses=ERRORS)
async def update_user(
    name: str, body: UserPatch, request: Request, admin: AdminDep, services: ServicesDep
) -> UserOut:
    """Change a user's role or cameras (only the fields sent)."""
    check_cameras(services, body.cameras)
    cameras: list[str] | Keep | None = body.cameras if "cameras" in body.model_fields_set else KEEP
    client = client_address(request)

    def update(db: Session) -> tuple[User, list[str]]:
        user = services.accounts.update_user(db, name, body.role, cameras)
        services.accounts.audit(
            db,
            admin.name,
            "user_changed",
            name,
            client,
            detail=body.model_dump_json(exclude_unset=True),
        )
        return user, services.accounts.user_session_hashes(db, user.id)

    user, hashes = await services.db.run(update)
    # Rights changed: live connections reconnect and pick up the new rights.
    await services.end_sessions(hashes, user.id)
    return user_out(user)


@router.delete("/api/users/{name}", status_code=204, response_class=Response, responses=ERRORS)
async def remove_user(
    name: str, request: Request, admin: AdminDep, services: ServicesDep
) -> Response:
    """Remove a user: their sessions, tokens, live connections and viewers end at once."""
    client = client_address(request)

    def remove(db: Session) -> tuple[int, list[str]]:
        user = services.accounts.get_user(db, name)
        hashes = services.accounts.user_session_hashes(db, user.id)
        services.accounts.remove_user(db, name)
        services.accounts.audit(db, admin.name, "user_removed", name, client)
        return user.id, hashes

    user_id, hashes = await services.db.run(remove)
    await services.end_sessions(hashes, user_id)
    return Response(status_code=204)


@router.put(
    "/api/users/{name}/password", status_code=204, response_class=Response, responses=ERRORS
)
async def set_password(
    name: str, body: PasswordSetIn, request: Request, admin: AdminDep, services: ServicesDep
) -> Response:
    """Set another user's password; their sessions end."""
    client = client_address(request)
    services.accounts.check_password(name, body.password)
    hashed = await services.passwords.hash(body.password)

    def change(db: Session) -> tuple[int, list[str]]:
        user = services.accounts.get_user(db, name)
        hashes = services.accounts.user_session_hashes(db, user.id)
        services.accounts.set_password(db, name, body.password, hashed)
        services.accounts.audit(db, admin.name, "password_set", name, client)
        return user.id, hashes

    user_id, hashes = await services.db.run(change)
    await services.end_sessions(hashes, user_id)
    return Response(status_code=204)

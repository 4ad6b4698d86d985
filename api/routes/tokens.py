"""API tokens for scripts, phones and home-automation tools."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session

from ..accounts import now, token_credential
from ..deps import MAX_DB_ID, PrincipalDep, ServicesDep
from ..errors import Forbidden
from ..models import ApiToken
from ..schemas import Problem, TokenCreated, TokenIn, TokenOut
from ..security import client_address

router = APIRouter(tags=["tokens"])
ERRORS: dict[int | str, dict[str, Any]] = {403: {"model": Problem}, 404: {"model": Problem}}


def token_out(token: ApiToken, user: str) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        user=user,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked=token.revoked_at is not None,
    )


@router.get("/api/tokens", response_model=list[TokenOut])
async def list_tokens(principal: PrincipalDep, services: ServicesDep) -> list[TokenOut]:
    """Your tokens (an admin sees everyone's)."""
    owner = None if principal.is_admin else principal.user_id
    rows = await services.db.run(lambda db: services.accounts.list_tokens(db, owner))
    return [token_out(token, user) for token, user in rows]


@router.post("/api/tokens", response_model=TokenCreated, status_code=201, responses=ERRORS)
async def create_token(
    body: TokenIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> TokenCreated:
    """A new token, shown once in the answer; send it as ``Authorization: Bearer <token>``."""
    owner = body.user or principal.name
    if owner != principal.name and not principal.is_admin:
        raise Forbidden("only an admin may create tokens for other users")
    expires = now() + timedelta(days=body.expires_days) if body.expires_days else None
    client = client_address(request)

    def create(db: Session) -> tuple[str, ApiToken]:
        user = services.accounts.get_user(db, owner)
        plain, token = services.accounts.create_token(db, user, body.name, expires)
        services.accounts.audit(
            db,
            principal.name,
            "token_created",
            f"{owner}/{body.name}",
            client,
            detail=f"id={token.id}",
        )
        return plain, token

    plain, token = await services.db.run(create)
    return TokenCreated(**token_out(token, owner).model_dump(), token=plain)


@router.delete("/api/tokens/{token_id}", status_code=204, response_class=Response, responses=ERRORS)
async def revoke_token(
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
    token_id: int = Path(ge=1, le=MAX_DB_ID),
) -> Response:
    """Revoke a token at once (yours, or anyone's for an admin)."""
    owner = None if principal.is_admin else principal.user_id
    client = client_address(request)

    def revoke(db: Session) -> None:
        token = services.accounts.revoke_token(db, token_id, owner)
        services.accounts.audit(
            db, principal.name, "token_revoked", token.name, client, detail=f"id={token_id}"
        )

    await services.db.run(revoke)
    # docs/api.md: revoked at once, including the WebSocket and WHEP sessions it opened.
    await services.end_credentials({token_credential(token_id)})
    return Response(status_code=204)

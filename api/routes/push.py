"""Web Push: the server's VAPID key and the browsers' subscriptions (docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from ..accounts import Principal
from ..deps import PrincipalDep, ServicesDep
from ..errors import Forbidden, HTTPProblem, NotFound
from ..models import PushSubscription
from ..notifications import store
from ..notifications.delivery import Delivered, Gone
from ..notifications.endpoints import UnsafeEndpoint, check_endpoint
from ..notifications.schemas import (
    PushKey,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    TestResult,
)
from ..notifications.service import NotificationService
from ..schemas import Problem
from ..security import client_address
from ..services import Services

router = APIRouter(tags=["notifications"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
}
SubscriptionId = Annotated[int, Path(ge=1, le=2**62)]
OFF = (
    "Web Push is off on this server: an admin must set notifications.web_push.contact "
    "(see README, Notifications)"
)


def _push_on(services: Services) -> NotificationService:
    if not services.notifications.push_enabled:
        raise NotFound(OFF)  # a feature turned off is absent, not a failing server
    return services.notifications


def _out(row: PushSubscription, user: str) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        name=row.name,
        user=user,
        endpoint=row.endpoint,
        cameras=row.cameras,
        kinds=row.kinds,
        created_at=row.created_at,
        last_sent_at=row.last_sent_at,
        last_error=row.last_error,
    )


async def _own(services: Services, principal: Principal, subscription_id: int) -> None:
    """404 unless the subscription exists and is the caller's (or the caller is an admin)."""
    row = await services.db.run(lambda db: store.subscription(db, subscription_id))
    if row is None or (row.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"no subscription {subscription_id}")


@router.get("/api/push/key", response_model=PushKey, responses=ERRORS)
async def push_key(principal: PrincipalDep, services: ServicesDep) -> PushKey:
    """The server's VAPID public key: ``applicationServerKey`` for ``pushManager.subscribe``."""
    notifications = _push_on(services)
    assert notifications.public_key is not None
    return PushKey(public_key=notifications.public_key)


@router.post(
    "/api/push/subscriptions",
    response_model=SubscriptionCreated,
    status_code=201,
    responses=ERRORS,
)
async def subscribe(
    body: SubscriptionIn, request: Request, principal: PrincipalDep, services: ServicesDep
) -> SubscriptionCreated:
    """Register this browser (``PushSubscription.toJSON()``) for the caller's notifications."""
    notifications = _push_on(services)
    try:
        check_endpoint(body.endpoint, services.settings.notifications.web_push.insecure_endpoints)
    except UnsafeEndpoint as error:
        raise HTTPProblem(str(error)) from None
    known = {camera.id for camera in services.cameras.all()} | {"*"}
    for camera in body.cameras or []:
        if camera not in known:
            raise HTTPProblem(f"no camera {camera!r}")
        if not principal.can_see(camera):
            raise Forbidden(f"you may not see camera {camera!r}")
    client = client_address(request)

    def save(db: Any) -> int:
        name, cameras, kinds = body.name, body.cameras, body.kinds
        if body.previous_endpoint and body.previous_endpoint != body.endpoint:
            old = store.take_over(db, principal.user_id, body.previous_endpoint)
            given = body.model_fields_set
            if old is not None:
                name = name if "name" in given else old.name
                cameras = cameras if "cameras" in given else old.cameras
                kinds = kinds if "kinds" in given else old.kinds
        row = store.save_subscription(
            db,
            principal.user_id,
            name,
            body.endpoint,
            body.keys.p256dh,
            body.keys.auth,
            cameras,
            kinds,
        )
        services.accounts.audit(db, principal.name, "push_subscribed", str(row.id), client)
        return row.id

    subscription_id = await services.db.run(save)
    notifications.changed(removed=f"push:{subscription_id}")  # new keys: a fresh start
    return SubscriptionCreated(id=subscription_id)


@router.get("/api/push/subscriptions", response_model=list[SubscriptionOut])
async def list_subscriptions(
    principal: PrincipalDep, services: ServicesDep
) -> list[SubscriptionOut]:
    """Your devices (an admin sees everyone's)."""
    owner = None if principal.is_admin else principal.user_id
    rows = await services.db.run(lambda db: store.subscriptions(db, owner))
    return [_out(row, user) for row, user in rows]


@router.delete(
    "/api/push/subscriptions/{subscription_id}",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
)
async def unsubscribe(
    subscription_id: SubscriptionId,
    request: Request,
    principal: PrincipalDep,
    services: ServicesDep,
) -> Response:
    await _own(services, principal, subscription_id)
    client = client_address(request)

    def remove(db: Any) -> None:
        store.delete_subscription(db, subscription_id)
        services.accounts.audit(
            db, principal.name, "push_unsubscribed", str(subscription_id), client
        )

    await services.db.run(remove)
    services.notifications.changed(removed=f"push:{subscription_id}")
    return Response(status_code=204)


@router.post(
    "/api/push/subscriptions/{subscription_id}/test",
    response_model=TestResult,
    responses=ERRORS,
)
async def send_test(
    subscription_id: SubscriptionId, principal: PrincipalDep, services: ServicesDep
) -> TestResult:
    """Send a test notification to this device now and say what the push service answered."""
    notifications = _push_on(services)
    await _own(services, principal, subscription_id)
    outcome = await notifications.send_test(subscription_id, principal.user_id)
    if isinstance(outcome, Delivered):
        return TestResult(delivered=True, outcome="sent", detail=outcome.detail)
    name = "gone" if isinstance(outcome, Gone) else "failed"
    return TestResult(delivered=False, outcome=name, detail=outcome.detail)

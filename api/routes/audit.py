"""The audit log: logins, failed logins, user and token changes (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ..deps import MAX_DB_ID, AdminDep, ServicesDep
from ..schemas import AuditOut

router = APIRouter(tags=["audit"])


@router.get("/api/audit", response_model=list[AuditOut])
async def audit_log(
    admin: AdminDep,
    services: ServicesDep,
    limit: int = Query(100, ge=1, le=1000),
    before: int | None = Query(
        None, ge=1, le=MAX_DB_ID, description="Only entries with a smaller id."
    ),
) -> list[AuditOut]:
    """Newest first; page with ``before`` = the smallest id seen."""
    entries = await services.db.run(lambda db: services.accounts.audit_entries(db, limit, before))
    return [AuditOut.model_validate(entry, from_attributes=True) for entry in entries]

"""The MQTT bridge's connection, for admins (the public /api/health only says its state)."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import AdminDep, ServicesDep
from ..schemas import MqttStatus

router = APIRouter(tags=["mqtt"])


@router.get("/api/mqtt", response_model=MqttStatus)
async def mqtt_status(admin: AdminDep, services: ServicesDep) -> MqttStatus:
    """Broker, state, the last failure and counters; ``enabled: false`` when MQTT is off."""
    if services.mqtt is None:
        return MqttStatus(enabled=False, state="off")
    return MqttStatus.model_validate(services.mqtt.status())

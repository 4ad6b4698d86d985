"""The config sections of the appliance itself: ``system:`` (health sampling and alert
levels, :mod:`api.services.system_monitor`) and ``metrics:`` (who may scrape /metrics)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemConfig(_Model):
    interval_seconds: float = Field(
        10, ge=1, le=300, description="How often temperature, throttling, memory and disk are read."
    )
    overheat_celsius: float = Field(
        80,
        ge=40,
        le=110,
        description="SoC temperature that raises an 'overheat' alert (cleared 5 °C below). "
        "A Pi 4 or 5 starts throttling at 80-85 °C.",
    )
    disk_low_mb: int = Field(
        500,
        ge=0,
        le=10_000_000,
        description="Free space (MiB) in the data dir under which 'disk_low' is raised "
        "(cleared at 1.5 times it). 0 turns it off.",
    )
    memory_low_percent: float = Field(
        10,
        ge=0,
        le=90,
        description="Available memory (% of total) under which 'memory' is raised "
        "(cleared 5 points above). 0 turns it off.",
    )


class MetricsConfig(_Model):
    allow: list[str] = Field(
        default_factory=list,
        description="IPs or CIDR ranges that may read /metrics without a token (e.g. the "
        "Prometheus server). Anyone else needs an API token (Authorization: Bearer).",
    )

    @field_validator("allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(n, strict=False) for n in self.allow)

"""Wire models of the appliance's own REST routes (GET /api/system)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ThrottleFlags(BaseModel):
    undervoltage: bool
    frequency_capped: bool
    throttled: bool
    soft_temperature_limit: bool
    undervoltage_since_boot: bool
    frequency_capped_since_boot: bool
    throttled_since_boot: bool
    soft_temperature_limit_since_boot: bool


class SystemOut(BaseModel):
    sampled_at: str | None = Field(description="When these values were read (ISO 8601, UTC).")
    temperature_c: float | None = Field(description="SoC temperature; null if unknown.")
    throttled: ThrottleFlags | None = Field(
        description="The Raspberry Pi firmware's flags (get_throttled); null elsewhere."
    )
    throttled_raw: str | None = Field(description="get_throttled as hex, e.g. 0x50005.")
    undervoltage: bool | None = Field(description="Under-voltage now; null if unknown.")
    cpu_percent: list[float] | None = Field(
        description="Busy share of each core since the previous sample (0-100)."
    )
    load: list[float] | None = Field(description="Load average over 1, 5 and 15 minutes.")
    memory_total_bytes: int | None
    memory_available_bytes: int | None
    disk_total_bytes: int | None = Field(description="The data dir's file system.")
    disk_free_bytes: int | None
    disk_write_bytes_per_second: int | None = Field(
        description="Written to the data dir's block device (all processes) since the "
        "previous sample: the SD card's wear."
    )
    uptime_seconds: float | None = Field(description="Since the machine booted.")
    process_rss_bytes: int | None = Field(description="Sentrycam's resident memory.")
    process_cpu_percent: float | None = Field(
        description="Sentrycam's CPU since the previous sample, % of one core."
    )
    alerts: list[str] = Field(
        description="System alerts active now: undervoltage, throttled, overheat, disk_low, memory."
    )

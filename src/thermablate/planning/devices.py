"""The library of RF ablation devices: a versioned data table, plus a site's own devices.

``data/rf_devices.csv`` lists each electrode with its public source (510(k) summary,
instructions for use, published papers): polarity, active tip, gauge, articulating or straight,
cooled or not, and the generator's control mode and limits where they are documented. The
planning form and the procedure form offer the same library, so the device planned and the
device used can be compared. A site adds its own rows (same columns) through the application.

Cells no source documents are left empty and read as unknown (None), never filled in. What
the thermal engine can plan with is narrower than what the library lists:
:meth:`Device.cannot_plan_reason` says why a device cannot be planned (an internally cooled
electrode, whose cooling the engine does not model, would be predicted with a smaller zone and
less heat at the canal than it delivers; a bipolar electrode whose contact spacing is not
documented cannot be drawn). The devices used for spinal metastases today (cooled or bipolar)
are among them: such a lesion is planned with a generic monopolar electrode, and the plan says
so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from thermablate.datafiles import keyed_sources, parse_data_text, positive_cell, read_data_file
from thermablate.physics.electrodes import GAUGE_DIAMETER_MM

DATA_FILE = "rf_devices.csv"

COLUMNS = (
    "device_id", "manufacturer", "system", "electrode", "polarity", "active_tip_mm", "gauge",
    "articulating", "cooled", "control_mode", "target_temp_c", "max_power_w", "max_time_s",
    "max_voltage_v", "max_current_a", "max_impedance_ohm", "indications", "source",
)  # fmt: skip

GENERATOR_LIMITS = ("max_voltage_v", "max_current_a", "max_impedance_ohm")
"""The generator's output limits a device row may document (``physics.generator.Generator``):
RMS voltage [V] and current [A], and the impedance above which it stops [ohm]."""

POLARITIES = ("monopolar", "bipolar")
CONTROL_MODES = ("temperature", "power", "impedance")


class DeviceError(ValueError):
    """A device row, or a choice of device, that cannot be used; the message says why."""


@dataclass(frozen=True)
class Device:
    """One electrode of the library. A value no source documents is None (unknown), never a
    guess: ``active_tip_mm`` [mm] and ``gauge`` may then be chosen in the plan,
    ``target_temp_c`` [°C] (the generator's documented set point or ceiling), ``max_power_w``
    [W] and ``max_time_s`` [s] are then not checked, and ``max_voltage_v`` [V],
    ``max_current_a`` [A] and ``max_impedance_ohm`` [ohm] (the generator's output limits and
    impedance cut-off) are then not simulated.
    """

    device_id: str
    manufacturer: str
    system: str
    electrode: str
    polarity: str | None
    active_tip_mm: float | None
    gauge: int | None
    articulating: bool | None
    cooled: bool | None
    control_mode: str | None
    target_temp_c: float | None
    max_power_w: float | None
    max_time_s: float | None
    max_voltage_v: float | None
    max_current_a: float | None
    max_impedance_ohm: float | None
    indications: tuple[str, ...]
    source: str
    site_defined: bool = False

    @property
    def label(self) -> str:
        name = " ".join(p for p in (self.manufacturer, self.system) if p)
        details = [self.polarity or "polarity not documented"]
        if self.active_tip_mm:
            details.append(f"{self.active_tip_mm:g} mm tip")
        if self.gauge:
            details.append(f"{self.gauge} G")
        if self.articulating:
            details.append("articulating")
        if self.cooled:
            details.append("cooled")
        return f"{name}: {self.electrode} ({', '.join(details)})"

    def cannot_plan_reason(self) -> str:
        """Why the engine cannot plan with this device, or "" when it can.

        The engine draws straight needles, monopolar or bipolar with a known contact spacing,
        without internal cooling. A device whose cooling or polarity no source documents is
        not planned either: guessing would decide the size of the zone."""
        if self.cooled or self.cooled is None:
            return (
                "the thermal engine does not model internally cooled electrodes (it would "
                "predict a smaller zone and less heat at the canal than the device delivers)"
                if self.cooled
                else "no source in the library says whether this electrode is cooled"
            )
        if self.polarity != "monopolar":
            return (
                "the library does not give the spacing of its bipolar contacts, so the engine "
                "cannot draw it"
                if self.polarity == "bipolar"
                else "no source in the library gives its polarity"
            )
        if self.control_mode not in (None, "temperature"):
            return f"the engine plans temperature-controlled runs; this device controls {self.control_mode}"
        return ""

    def generator_limits(self) -> dict[str, float]:
        """The output limits the sources document, as ``Generator`` fields (may be empty)."""
        return {k: v for k in GENERATOR_LIMITS if (v := getattr(self, k)) is not None}

    def settings_problems(
        self, target_temp_c: float, max_power_w: float, duration_s: float
    ) -> list[str]:
        """The settings that lie outside what this device's generator documents."""
        problems = []
        if self.target_temp_c is not None and target_temp_c > self.target_temp_c:
            problems.append(
                f"target temperature {target_temp_c:g} °C is above the {self.target_temp_c:g} °C "
                f"this device's generator allows"
            )
        if self.max_power_w is not None and max_power_w > self.max_power_w:
            problems.append(
                f"power limit {max_power_w:g} W is above this device's {self.max_power_w:g} W"
            )
        if self.max_time_s is not None and duration_s > self.max_time_s:
            problems.append(
                f"{duration_s:g} s is longer than this device's longest cycle, "
                f"{self.max_time_s:g} s"
            )
        return problems


@dataclass(frozen=True)
class DeviceLibrary:
    """The shipped table (``name`` and ``version`` from its header) and a site's rows."""

    name: str
    version: str
    devices: tuple[Device, ...]
    sources: dict[str, str] = field(default_factory=dict, hash=False)
    """Source key -> full reference, from the table's '# source: key = ...' lines."""

    def get(self, device_id: str) -> Device:
        for device in self.devices:
            if device.device_id == device_id:
                return device
        raise DeviceError(f"no device {device_id!r} in the library")

    def with_site_devices(self, devices: list[Device]) -> DeviceLibrary:
        clash = {d.device_id for d in devices} & {d.device_id for d in self.devices}
        if clash:
            raise DeviceError(f"device id {sorted(clash)[0]!r} is already in the library")
        return DeviceLibrary(self.name, self.version, self.devices + tuple(devices), self.sources)


def _optional_number(row: dict, key: str) -> float | None:
    try:
        return positive_cell(row.get(key), f"{row.get('device_id')}: {key}")
    except ValueError as exc:
        raise DeviceError(str(exc)) from None


def _yes_no(row: dict, key: str) -> bool | None:
    text = (row.get(key) or "").strip().lower()
    if text not in ("yes", "no", ""):
        raise DeviceError(f"{row.get('device_id')}: {key} must be yes, no or empty, got {text!r}")
    return None if not text else text == "yes"


def _one_of(row: dict, key: str, allowed: tuple[str, ...]) -> str | None:
    text = (row.get(key) or "").strip()
    if text and text not in allowed:
        raise DeviceError(
            f"{row.get('device_id')}: {key} must be one of {', '.join(allowed)} or empty, "
            f"got {text!r}"
        )
    return text or None


def device_from_row(row: dict, *, site_defined: bool = False) -> Device:
    """A :class:`Device` from one row of the table (strings), every value checked; an empty
    cell is a value no source documents."""
    device_id = (row.get("device_id") or "").strip()
    if not device_id:
        raise DeviceError("every device needs a device_id")
    gauge_value = _optional_number(row, "gauge")
    gauge = None if gauge_value is None else int(gauge_value)
    if gauge is not None and (gauge != gauge_value or gauge not in GAUGE_DIAMETER_MM):
        raise DeviceError(f"{device_id}: gauge {gauge_value:g} is not a supported ISO 9626 size")
    return Device(
        device_id=device_id,
        manufacturer=(row.get("manufacturer") or "").strip(),
        system=(row.get("system") or "").strip(),
        electrode=(row.get("electrode") or "").strip(),
        polarity=_one_of(row, "polarity", POLARITIES),
        active_tip_mm=_optional_number(row, "active_tip_mm"),
        gauge=gauge,
        articulating=_yes_no(row, "articulating"),
        cooled=_yes_no(row, "cooled"),
        control_mode=_one_of(row, "control_mode", CONTROL_MODES),
        target_temp_c=_optional_number(row, "target_temp_c"),
        max_power_w=_optional_number(row, "max_power_w"),
        max_time_s=_optional_number(row, "max_time_s"),
        **{limit: _optional_number(row, limit) for limit in GENERATOR_LIMITS},
        indications=tuple(
            i.strip() for i in (row.get("indications") or "").split(";") if i.strip()
        ),
        source=(row.get("source") or "").strip(),
        site_defined=site_defined,
    )


def _library(meta: dict[str, list[str]], rows: list[dict[str, str]]) -> DeviceLibrary:
    name = (meta.get("name") or ["rf-devices"])[0]
    sources = keyed_sources(meta)
    devices = tuple(device_from_row(row) for row in rows)
    ids = [d.device_id for d in devices]
    if len(set(ids)) != len(ids):
        raise DeviceError("the device table lists a device_id twice")
    for device in devices:
        if device.source and device.source not in sources:
            raise DeviceError(f"{device.device_id}: source {device.source!r} has no header line")
    return DeviceLibrary(name, (meta.get("version") or [""])[0], devices, sources)


@cache
def shipped_library() -> DeviceLibrary:
    """The device table shipped with Thermablate."""
    return _library(*read_data_file("thermablate.planning", DATA_FILE))


def library_from_text(text: str) -> DeviceLibrary:
    """A device table in the same format read from text (tests, a site's file)."""
    return _library(*parse_data_text(text))

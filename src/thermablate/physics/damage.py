"""Thermal damage: the Arrhenius damage integral and the CEM43 thermal dose.

The simulation accumulates both inside the bioheat kernel (``bioheat.step``); the functions
here evaluate them for a temperature history (probes, tests) and define the ablation criteria.

References
----------
[HEN47] Henriques FC. Studies of thermal injury V. The predictability and the significance of
    thermally induced rate processes leading to irreversible epidermal injury.
    Arch Pathol 1947;43:489-502 (the Arrhenius damage integral).
[CHA04] Chang IA, Nguyen UD. Thermal modeling of lesion growth with radiofrequency ablation
    devices. Biomed Eng Online 2004;3:27. doi:10.1186/1475-925X-3-27
    (A = 7.39e39 1/s, Ea = 2.577e5 J/mol; Omega = 1 is 63 % cell death).
[SAP84] Sapareto SA, Dewey WC. Thermal dose determination in cancer therapy. Int J Radiat
    Oncol Biol Phys 1984;10(6):787-800. doi:10.1016/0360-3016(84)90379-1 (CEM43, R = 0.5
    above 43 °C and 0.25 below).
[DEW03] Dewhirst MW, Viglianti BL, Lora-Michiels M, Hanson M, Hoopes PJ. Basic principles of
    thermal dosimetry and thermal thresholds for tissue damage from hyperthermia.
    Int J Hyperthermia 2003;19(3):267-294. doi:10.1080/0265673031000119006
    (CEM43 of 240 min as a necrosis threshold for most soft tissues).
[GOL00] Goldberg SN, Gazelle GS, Mueller PR. Thermal ablation therapy for focal malignancy: a
    unified approach to underlying principles, techniques, and diagnostic imaging guidance.
    AJR 2000;174(2):323-331. doi:10.2214/ajr.174.2.1740323 (coagulation at 50 °C within
    minutes; the 50 °C isotherm as the lesion boundary).
"""

from __future__ import annotations

import numpy as np

GAS_CONSTANT_J_MOLK = 8.314462618
"""Molar gas constant (CODATA 2018). [J/(mol K)]"""

ARRHENIUS_A_PER_S = 7.39e39
"""Frequency factor of the Arrhenius damage model [CHA04]. [1/s]"""

ARRHENIUS_EA_J_MOL = 2.577e5
"""Activation energy of the Arrhenius damage model [CHA04]. [J/mol]"""

ARRHENIUS_THRESHOLD = 1.0
"""Damage integral at which tissue is counted as coagulated (63 % cell death) [CHA04]. [-]"""

CEM43_ABLATION_THRESHOLD_MIN = 240.0
"""CEM43 counted as ablated (necrosis in most tissues) [DEW03]. [min]"""

ISOTHERM_THRESHOLD_C = 50.0
"""Maximum temperature counted as ablated by the isotherm criterion [GOL00]. [°C]"""

DOSE_FLOOR_C = 39.0
"""CEM43 accrues only above this temperature: below it the dose rate is under 0.004 min per
minute (Sapareto & Dewey 1984), under 0.04 min in a 10-min ablation. [°C]"""

DAMAGE_FLOOR_C = 43.0
"""The Arrhenius damage integral accrues only above this temperature. The coefficients of
Chang & Nguyen 2004 were fitted at ablative temperatures; extrapolated to 37 °C they would
coagulate tissue in about an hour, which is unphysical. 43 °C is the Sapareto-Dewey breakpoint,
below which tissue survives for hours. [°C]"""

CRITERIA = ("arrhenius", "cem43", "isotherm-50c")
DEFAULT_CRITERION = "arrhenius"


def arrhenius_rate_per_s(temperature_c):
    """Damage rate ``A exp(-Ea / (R T))`` [CHA04]. [1/s]

    Parameters
    ----------
    temperature_c : array_like
        Tissue temperature. [°C]
    """
    t = np.asarray(temperature_c, dtype=float)
    rate = ARRHENIUS_A_PER_S * np.exp(-ARRHENIUS_EA_J_MOL / (GAS_CONSTANT_J_MOLK * (t + 273.15)))
    return np.where(t > DAMAGE_FLOOR_C, rate, 0.0)


def arrhenius_damage(time_s, temperature_c) -> float:
    """Damage integral ``Omega`` of a temperature history (left-rectangle rule, as the
    simulation accumulates it). [-]

    Parameters
    ----------
    time_s : array_like
        Sample times, increasing. [s]
    temperature_c : array_like
        Temperatures at those times. [°C]
    """
    t = np.asarray(time_s, float)
    rate = arrhenius_rate_per_s(np.asarray(temperature_c, float)[:-1])
    return float(np.sum(rate * np.diff(t)))


def cem43_rate_min_per_s(temperature_c):
    """Equivalent minutes at 43 °C accrued per second at ``temperature_c`` [SAP84]. [min/s]"""
    t = np.asarray(temperature_c, dtype=float)
    r = np.where(t >= 43.0, 0.5, 0.25)
    return np.where(t > DOSE_FLOOR_C, r ** (43.0 - t) / 60.0, 0.0)


def cem43(time_s, temperature_c) -> float:
    """Cumulative equivalent minutes at 43 °C of a temperature history [SAP84]. [min]"""
    t = np.asarray(time_s, float)
    rate = cem43_rate_min_per_s(np.asarray(temperature_c, float)[:-1])
    return float(np.sum(rate * np.diff(t)))


def ablated(criterion: str, damage, cem43_min, max_temperature_c) -> np.ndarray:
    """Boolean mask of ablated cells under ``criterion`` (one of ``CRITERIA``)."""
    if criterion == "arrhenius":
        return np.asarray(damage) >= ARRHENIUS_THRESHOLD
    if criterion == "cem43":
        return np.asarray(cem43_min) >= CEM43_ABLATION_THRESHOLD_MIN
    if criterion == "isotherm-50c":
        return np.asarray(max_temperature_c) >= ISOTHERM_THRESHOLD_C
    raise ValueError(f"unknown ablation criterion {criterion!r} (known: {', '.join(CRITERIA)})")

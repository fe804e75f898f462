"""The RF generator: temperature-controlled, constant-power and ideal held-temperature modes.

Temperature control is a discrete PI controller on the tip thermocouple, acting on power,
clamped to ``[0, max_power_w]`` with conditional-integration anti-windup. The set point ramps
linearly from body temperature to the target over ``ramp_s``, as clinical generators do
(e.g. the Cosman/Radionics RFG series ramp to the set temperature over tens of seconds).

Tuning (stated, not adaptive): the plant is the tip temperature's response to power. With
tissue thermal conductivity 0.3-0.5 W/(m K) and a 1-2 mm needle the static gain is of the
order of 10-50 K/W, with a fast time constant of seconds (the tissue next to the tip) and a
slow one of minutes (the growing heated volume). We use ``Kp = 0.3 W/K`` and
``Ki = 0.02 W/(K s)`` (integral time 15 s) with a 60 s ramp; the integral is frozen during
the ramp and while the output saturates. Tuned by step tests on both presets (osteoid osteoma
at 1 mm, lumbar metastasis at 1.5 mm): the tip is within 2 K of 90 °C at 90 s, overshoots by
under 2 K, and stays within about 1 K from 120 s on; the tests assert 1.5 K after the ramp.
With the contacts' true surface in the potential (the default since issue 13) the gains were
kept: at the presets' 0.5 mm default grids the tip's largest reading is 91.8 °C (osteoid
osteoma) and 92.3 °C (lumbar), against 91.1 and 91.7 °C with the voxelised contact, and the
tissue by the contact boils at 100 °C for a while in the osteoid osteoma without reaching the
105 °C stop (docs/thermal-engine.md, "The contact's true surface").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from thermablate.physics.tissues import BODY_TEMPERATURE_C

MODES = ("temperature", "power", "held")

DEFAULT_KP_W_PER_K = 0.3
"""Proportional gain of the temperature controller. [W/K]"""

DEFAULT_KI_W_PER_KS = 0.02
"""Integral gain of the temperature controller. [W/(K s)]"""

ROLL_OFF_TEMPERATURE_C = 100.0
"""Tissue boils and desiccates at 100 °C: its conductivity collapses, the impedance rises and
the generator rolls off (Goldberg SN et al. AJR 2000;174:323, doi:10.2214/ajr.174.2.1740323).
Targets must stay below it. [°C]"""

MODEL_LIMIT_C = 105.0
"""Tissue temperature at which the run stops. The conductivity drop of desiccation
(``electric.conductivity_factor``) and the latent heat of the tissue's water boiling at
100 °C (``phase.py``, issue 13) are modelled: tissue stays at 100 °C until its water has
boiled off. A cell above 100 °C is therefore dry tissue (or metal), and what happens to it next
is not: charring, the vapour's escape and pressure, and the dried tissue's own properties
(its heat capacity is an estimate, ``phase.dry_heat_capacity_j_m3k``). 5 K above boiling
leaves the dry cells' sub-steps room to show they are heating, and stops before the estimate
matters. [°C]"""

ROLL_OFF_IMPEDANCE_RATIO = 2.0
"""Constant-power mode stops ("roll-off") when the impedance exceeds this multiple of its
minimum, as generators cut power on a sharp impedance rise. [-]"""


@dataclass(frozen=True)
class Generator:
    """Generator settings.

    Parameters
    ----------
    mode : str
        ``"temperature"`` (PI control of the tip thermocouple), ``"power"`` (constant power)
        or ``"held"`` (electrode surface held at the target: ideal control, verification).
    target_temp_c : float
        Target tip temperature (temperature and held modes). [°C]
    max_power_w : float
        Power limit (temperature mode) or delivered power (power mode). [W]
    ramp_s : float
        Duration of the linear ramp of the set point (or power) from its start value. [s]
    kp_w_per_k, ki_w_per_ks : float
        PI gains. [W/K], [W/(K s)]
    max_voltage_v, max_current_a : float or None
        The generator's output limits (RMS): whatever the mode asks, it delivers at most
        ``V^2 / Z`` and ``I^2 Z`` into a load of impedance ``Z``. None: not limited (an ideal
        source, or a device whose limits no source documents). [V], [A]
    max_impedance_ohm : float or None
        Impedance cut-off: RF output stops when the load's impedance exceeds it, as
        generators stop on a sharp rise of impedance (desiccation, charring). None: no
        cut-off. [ohm]
    """

    mode: str = "temperature"
    target_temp_c: float = 90.0
    max_power_w: float = 50.0
    ramp_s: float = 60.0
    kp_w_per_k: float = DEFAULT_KP_W_PER_K
    ki_w_per_ks: float = DEFAULT_KI_W_PER_KS
    max_voltage_v: float | None = None
    max_current_a: float | None = None
    max_impedance_ohm: float | None = None

    def output_limits_w(self, impedance_ohm: float) -> dict[str, float]:
        """The most power each of the generator's limits allows into ``impedance_ohm``. [W]

        Keys ``"power"``, ``"voltage"``, ``"current"``; a limit the generator does not have
        allows infinite power. In a voltage-limited generator the power a rising impedance
        allows falls as ``1/Z``: the roll-off that ends a lesion's growth once the tissue by
        the electrode desiccates.
        """
        z = impedance_ohm if math.isfinite(impedance_ohm) and impedance_ohm > 0 else math.inf
        return {
            "power": self.max_power_w,
            "voltage": math.inf if self.max_voltage_v is None else self.max_voltage_v**2 / z,
            "current": math.inf if self.max_current_a is None else self.max_current_a**2 * z,
        }

    def set_point_c(self, t_s: float, start_c: float = BODY_TEMPERATURE_C) -> float:
        """Set point at time ``t_s`` (linear ramp then constant). [°C]"""
        if self.ramp_s <= 0 or t_s >= self.ramp_s:
            return self.target_temp_c
        return start_c + (self.target_temp_c - start_c) * t_s / self.ramp_s

    def power_set_w(self, t_s: float, limit_w: float | None = None) -> float:
        """Power of the constant-power mode at ``t_s`` (linear ramp then constant), at most
        ``limit_w`` (the output limits' allowance, see :meth:`output_limits_w`). [W]"""
        ceiling = self.max_power_w if limit_w is None else min(self.max_power_w, limit_w)
        if self.ramp_s <= 0 or t_s >= self.ramp_s:
            return ceiling
        return min(ceiling, self.max_power_w * t_s / self.ramp_s)


class PIController:
    """Discrete PI controller on power with clamping and conditional integration."""

    def __init__(self, generator: Generator):
        self.g = generator
        self.integral_w = 0.0

    def propose(self, t_s: float, tip_temperature_c: float, dt_s: float,
                limit_w: float | None = None) -> tuple[float, float]:  # fmt: skip
        """Power for a step of ``dt_s`` and the integral it would leave, without taking the step.

        The time loop may shorten a step after seeing the power; it then asks again for the
        shorter step and keeps the integral of the step it takes (see :meth:`accept`). The
        power is clamped to ``max_power_w`` and to ``limit_w`` (the generator's voltage and
        current limits at the present impedance), and the integral is frozen against either
        clamp. [W], [W]
        """
        ceiling = self.g.max_power_w if limit_w is None else min(self.g.max_power_w, limit_w)
        error = self.g.set_point_c(t_s) - tip_temperature_c
        candidate = self.integral_w + self.g.ki_w_per_ks * error * dt_s
        power = self.g.kp_w_per_k * error + candidate
        saturated_high = power > ceiling and error > 0
        saturated_low = power < 0.0 and error < 0
        ramping = t_s < self.g.ramp_s
        # Conditional integration (anti-windup), and none during the ramp: the tracking lag of a
        # ramp would otherwise wind the integral up and overshoot the target when it ends.
        integral = self.integral_w if (saturated_high or saturated_low or ramping) else candidate
        return min(max(power, 0.0), ceiling), integral

    def accept(self, integral_w: float) -> None:
        """Keep the integral :meth:`propose` returned for the step that was taken. [W]"""
        self.integral_w = integral_w

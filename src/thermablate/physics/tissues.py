"""Tissue properties for RF ablation of bone and spine.

Each tissue carries a cited central value and, where the literature gives one, a range
``(low, high)`` that the uncertainty analysis can sample. Units are SI except perfusion, which
is kept as published (ml of blood per minute per kg of tissue) and converted by
:func:`perfusion_rate_per_s`.

References
----------
[ITIS] Hasgall PA, Di Gennaro F, Baumgartner C, et al. IT'IS Database for thermal and
    electromagnetic parameters of biological tissues, version 4.1 (2022).
    doi:10.13099/VIP21000-04-1. Thermal values: "Thermal" tables (mean of the compiled
    studies); electrical conductivity: Gabriel 4-Cole-Cole model evaluated near 500 kHz;
    perfusion: "Heat transfer rate" tables.
[IRA16] Irastorza RM, Trujillo M, Martel Villagran J, Berjano E. Computer modelling of RF
    ablation in cortical osteoid osteoma: assessment of the insulating effect of the reactive
    zone. Int J Hyperthermia 2016;32(3):221-230. doi:10.3109/02656736.2015.1135998
    (cortical 0.02 S/m, trabecular 0.087 S/m).
[BER06] Berjano EJ. Theoretical modeling for radiofrequency ablation: state-of-the-art and
    challenges for the future. Biomed Eng Online 2006;5:24. doi:10.1186/1475-925X-5-24
    (temperature coefficient of electrical conductivity +1 to +2 %/K; 1.5 %/K typical).
[STA04] Stanczyk M, van Rietbergen B. Thermal analysis of bone cement polymerisation at the
    cement-bone interface. J Biomech 2004;37(12):1803-1810.
    doi:10.1016/j.jbiomech.2004.03.002 (PMMA thermal properties).
[GAB96] Gabriel C, Gabriel S, Corthout E. The dielectric properties of biological tissues: I.
    Literature survey. Phys Med Biol 1996;41:2231-2249. doi:10.1088/0031-9155/41/11/001
    (spread of measured conductivities, used for the ranges).
[WW86] Woodard HQ, White DR. The composition of body tissues. Br J Radiol
    1986;59(708):1209-1218. doi:10.1259/0007-1285-59-708-1209 (water, lipid, protein and ash
    contents of 56 adult tissues; the water mass fractions below, see
    :data:`WATER_MASS_FRACTION`).

The values were transcribed for this engine from the sources above; the ranges are the spread
reported in [ITIS]/[GAB96] rounded outwards. Tumour values are soft-tissue (lytic) or bone-like
(sclerotic) surrogates because bone-tumour measurements are scarce; their ranges are wide on
purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

BODY_TEMPERATURE_C = 37.0
"""Core body temperature, arterial blood temperature in Pennes' equation. [°C]"""

BLOOD_DENSITY_KG_M3 = 1050.0
"""Density of blood [ITIS]. [kg/m^3]"""

BLOOD_HEAT_CAPACITY_J_KGK = 3617.0
"""Specific heat capacity of blood [ITIS]. [J/(kg K)]"""

SIGMA_TEMPERATURE_COEFFICIENT_PER_K = 0.015
"""Relative increase of electrical conductivity per kelvin, central value [BER06]. [1/K]"""

SIGMA_TEMPERATURE_COEFFICIENT_RANGE_PER_K = (0.01, 0.02)
"""Range of the conductivity temperature coefficient [BER06]. [1/K]"""


@dataclass(frozen=True)
class Tissue:
    """Physical properties of one tissue at body temperature.

    Parameters
    ----------
    name : str
        Identifier used in scenario files and label tables (lower case, hyphenated).
    electrical_conductivity_s_m : float
        Electrical conductivity at 37 °C near 500 kHz. [S/m]
    thermal_conductivity_w_mk : float
        Thermal conductivity. [W/(m K)]
    density_kg_m3 : float
        Mass density. [kg/m^3]
    heat_capacity_j_kgk : float
        Specific heat capacity. [J/(kg K)]
    perfusion_ml_min_kg : float
        Blood perfusion. [ml/(min kg)]
    sigma_temperature_coefficient_per_k : float
        Relative change of electrical conductivity per kelvin above 37 °C. [1/K]
    neural : bool
        True for the structures the neural safety verdict judges: the neural tissue (spinal
        cord, cauda equina, each exiting nerve root) and what encloses it in the canal (CSF,
        dura, epidural space), whose temperature published studies measure in its place.
    water_mass_fraction : float
        Mass of water per mass of tissue, which boils at 100 °C (``physics/phase.py``). [-]
    source : str
        Citation key(s) for the values.
    ranges : dict
        ``{field_name: (low, high)}`` for the properties whose spread is known.
    """

    name: str
    electrical_conductivity_s_m: float
    thermal_conductivity_w_mk: float
    density_kg_m3: float
    heat_capacity_j_kgk: float
    perfusion_ml_min_kg: float
    sigma_temperature_coefficient_per_k: float = SIGMA_TEMPERATURE_COEFFICIENT_PER_K
    neural: bool = False
    water_mass_fraction: float = 0.0
    source: str = "ITIS"
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def volumetric_heat_capacity_j_m3k(self) -> float:
        """rho * c. [J/(m^3 K)]"""
        return self.density_kg_m3 * self.heat_capacity_j_kgk

    @property
    def perfusion_rate_per_s(self) -> float:
        """Volumetric blood perfusion rate omega. [1/s]"""
        return perfusion_rate_per_s(self.perfusion_ml_min_kg, self.density_kg_m3)

    @property
    def perfusion_heat_sink_w_m3k(self) -> float:
        """Pennes' sink coefficient omega * rho_b * c_b. [W/(m^3 K)]"""
        return self.perfusion_rate_per_s * BLOOD_DENSITY_KG_M3 * BLOOD_HEAT_CAPACITY_J_KGK

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first property that is not finite or out of range.

        Every property must be finite; conductivities, density and heat capacity positive
        (an insulator such as PMMA takes a small conductivity, not zero: a zero-conductivity
        domain carries no current and has no impedance); perfusion not negative.
        """
        for name in PROPERTY_NAMES:
            value = getattr(self, name)
            if not math.isfinite(value):
                raise ValueError(
                    f"tissue {self.name!r}: {name} must be a finite number, got {value!r}"
                )
        for name in POSITIVE_PROPERTIES:
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"tissue {self.name!r}: {name} must be positive, got {getattr(self, name)!r}"
                    + (" (use 1e-4 S/m for an insulator such as bone cement)"
                       if name == "electrical_conductivity_s_m" else "")
                )  # fmt: skip
        if self.perfusion_ml_min_kg < 0:
            raise ValueError(f"tissue {self.name!r}: perfusion_ml_min_kg must not be negative")
        if not 0.0 <= self.water_mass_fraction < 1.0:
            raise ValueError(
                f"tissue {self.name!r}: water_mass_fraction must be at least 0 and below 1, "
                f"got {self.water_mass_fraction!r}"
            )

    def with_overrides(self, **values: float) -> Tissue:
        """A copy with some properties replaced (unknown names raise ``TypeError``)."""
        return replace(self, **values)


PROPERTY_NAMES = (
    "electrical_conductivity_s_m",
    "thermal_conductivity_w_mk",
    "density_kg_m3",
    "heat_capacity_j_kgk",
    "perfusion_ml_min_kg",
    "sigma_temperature_coefficient_per_k",
)
"""The numeric properties of a :class:`Tissue` (what a scenario may override)."""

POSITIVE_PROPERTIES = PROPERTY_NAMES[:4]


def perfusion_rate_per_s(perfusion_ml_min_kg: float, density_kg_m3: float) -> float:
    """Convert perfusion from ml/(min kg) to a volumetric rate.

    Parameters
    ----------
    perfusion_ml_min_kg : float
        Perfusion per unit tissue mass. [ml/(min kg)]
    density_kg_m3 : float
        Tissue density. [kg/m^3]

    Returns
    -------
    float
        Volume of blood per volume of tissue per second. [1/s]
    """
    return perfusion_ml_min_kg * 1e-6 * density_kg_m3 / 60.0


def _t(name, sigma, k, rho, c, perf, ranges, source="ITIS", **kw) -> Tissue:
    return Tissue(name, sigma, k, rho, c, perf, source=source, ranges=ranges, **kw)


TISSUES: dict[str, Tissue] = {
    t.name: t
    for t in (
        _t("cortical-bone", 0.02, 0.32, 1908.0, 1313.0, 10.0,
           {"electrical_conductivity_s_m": (0.01, 0.06), "thermal_conductivity_w_mk": (0.25, 0.40),
            "perfusion_ml_min_kg": (5.0, 20.0)}, source="ITIS; IRA16 (sigma)"),
        _t("cancellous-bone", 0.087, 0.31, 1178.0, 2274.0, 30.0,
           {"electrical_conductivity_s_m": (0.05, 0.2), "thermal_conductivity_w_mk": (0.25, 0.45),
            "perfusion_ml_min_kg": (10.0, 60.0)}, source="ITIS; IRA16 (sigma)"),
        _t("tumour-lytic", 0.40, 0.51, 1050.0, 3600.0, 40.0,
           {"electrical_conductivity_s_m": (0.2, 0.8), "thermal_conductivity_w_mk": (0.45, 0.60),
            "perfusion_ml_min_kg": (10.0, 150.0)}, source="ITIS (soft-tissue surrogate); BER06"),
        _t("tumour-sclerotic", 0.03, 0.32, 1900.0, 1313.0, 10.0,
           {"electrical_conductivity_s_m": (0.02, 0.087), "thermal_conductivity_w_mk": (0.25, 0.40),
            "perfusion_ml_min_kg": (5.0, 30.0)}, source="ITIS (cortical-bone surrogate); IRA16"),
        _t("intervertebral-disc", 0.83, 0.49, 1100.0, 3300.0, 0.0,
           {"electrical_conductivity_s_m": (0.5, 1.2), "thermal_conductivity_w_mk": (0.45, 0.55)},
           source="ITIS (cartilage/disc); nucleus avascular"),
        _t("spinal-cord", 0.11, 0.51, 1075.0, 3630.0, 160.0,
           {"electrical_conductivity_s_m": (0.03, 0.3), "perfusion_ml_min_kg": (100.0, 500.0)},
           neural=True),
        _t("csf", 2.0, 0.57, 1007.0, 4096.0, 0.0,
           {"electrical_conductivity_s_m": (1.7, 2.0)}, neural=True),
        # The exiting nerve roots, one tissue per side of the patient so that the verdict
        # can say which root is at risk (issue 14); both have the same nerve properties.
        *(_t(f"nerve-root-{side}", 0.13, 0.49, 1075.0, 3613.0, 160.0,
             {"electrical_conductivity_s_m": (0.03, 0.3), "perfusion_ml_min_kg": (50.0, 300.0)},
             neural=True) for side in ("left", "right")),
        _t("muscle", 0.446, 0.49, 1090.0, 3421.0, 37.0,
           {"electrical_conductivity_s_m": (0.3, 0.6), "perfusion_ml_min_kg": (20.0, 100.0)}),
        _t("fat", 0.0247, 0.21, 911.0, 2348.0, 33.0,
           {"electrical_conductivity_s_m": (0.02, 0.05), "perfusion_ml_min_kg": (10.0, 60.0)}),
        # PMMA is an electrical insulator; 1e-4 S/m keeps the linear system well conditioned
        # while carrying a negligible current (< 1e-3 of the neighbouring bone's).
        _t("bone-cement", 1e-4, 0.20, 1190.0, 1460.0, 0.0,
           {"thermal_conductivity_w_mk": (0.17, 0.26)}, source="STA04",
           sigma_temperature_coefficient_per_k=0.0),
        # Ex vivo liver, used only to compare with Goldberg et al. 1995 (unperfused).
        _t("liver-ex-vivo", 0.33, 0.52, 1079.0, 3540.0, 0.0,
           {"electrical_conductivity_s_m": (0.1, 0.5)}),
        # The canal's contents below the conus (issue 13). The cauda equina is a bundle of
        # nerve roots: the nerve properties of the exiting roots.
        _t("cauda-equina", 0.13, 0.49, 1075.0, 3613.0, 160.0,
           {"electrical_conductivity_s_m": (0.03, 0.3), "perfusion_ml_min_kg": (50.0, 300.0)},
           neural=True, source="ITIS (nerve)"),
        # Dura mater: thermal and dielectric values of the IT'IS "Dura" entries; its perfusion
        # is not tabulated there, so a connective-tissue value with a wide range is assumed.
        _t("dura", 0.50, 0.44, 1174.0, 3364.0, 30.0,
           {"electrical_conductivity_s_m": (0.3, 0.7), "perfusion_ml_min_kg": (5.0, 150.0)},
           neural=True, source="ITIS (dura); perfusion assumed"),
        # Epidural space: fat. The epidural venous plexus in it is not modelled separately
        # (it would add a heat sink; leaving it out is the conservative side).
        _t("epidural-fat", 0.0247, 0.21, 911.0, 2348.0, 33.0,
           {"electrical_conductivity_s_m": (0.02, 0.05), "perfusion_ml_min_kg": (10.0, 60.0)},
           neural=True, source="ITIS (fat)"),
    )
}  # fmt: skip


WATER_MASS_FRACTION: dict[str, tuple[float, str]] = {
    # Bone and tumour surrogates.
    "cortical-bone": (0.12, "WW86 (cortical bone)"),
    "tumour-sclerotic": (0.12, "WW86 (cortical bone, as the tumour's other properties)"),
    "cancellous-bone": (0.20, "no single value: trabecular bone with red and yellow marrow; "
                        "the lower end chosen"),
    "tumour-lytic": (0.70, "no value for bone tumours: below WW86's soft tissues (muscle, "
                     "liver), the lower end chosen"),
    # Soft tissues.
    "muscle": (0.79, "WW86 (skeletal muscle)"),
    "fat": (0.15, "WW86 (adipose tissue, the leaner of its three compositions)"),
    "epidural-fat": (0.15, "WW86 (adipose tissue), as fat"),
    "liver-ex-vivo": (0.71, "WW86 (liver)"),
    "csf": (0.99, "WW86 (cerebrospinal fluid)"),
    "spinal-cord": (0.70, "WW86 (spinal cord / white matter)"),
    "nerve-root-left": (0.60, "no value found for peripheral nerve: below the cord's, the "
                        "lower end chosen"),
    "nerve-root-right": (0.60, "as nerve-root-left"),
    "cauda-equina": (0.60, "as the nerve roots"),
    "dura": (0.60, "no value found for dura: a connective-tissue value, the lower end chosen"),
    "intervertebral-disc": (0.65, "no value found: annulus fibrosus is drier than the "
                            "nucleus, the lower end chosen"),
    "bone-cement": (0.0, "PMMA holds no water"),
}  # fmt: skip
"""Water mass fraction of each tissue, with its source or why it was chosen. [-]

Where no source gives a value, the lower end of the plausible range is taken: less water boils
off sooner, so the model never holds a cell at 100 °C longer than the tissue would (and lets
more heat on to its neighbours, the cautious side for the neural structures). The figures
marked WW86 were entered from that paper's tables; they have not been re-read against it in
the session that entered them (see docs/thermal-engine.md) and should be checked.
"""

TISSUES = {
    name: replace(t, water_mass_fraction=WATER_MASS_FRACTION[name][0])
    for name, t in TISSUES.items()
}


SPLIT_TISSUES: dict[str, tuple[str, ...]] = {
    "nerve-root": ("nerve-root-left", "nerve-root-right"),
}
"""Tissue names of earlier versions that are now several tissues, with the names that
replaced them. Results stored under an old name stay readable (``planning.safety`` still has
words for it); a scenario that names one is told the new names (:func:`unknown_tissue`)."""


def unknown_tissue(name: str) -> str:
    """Why ``name`` is not a tissue, in one sentence: the names that replaced it, or else the
    known names."""
    if name in SPLIT_TISSUES:
        return (
            f"tissue {name!r} is now {' and '.join(SPLIT_TISSUES[name])} (one for each side of "
            "the patient): name each of them"
        )
    return f"unknown tissue {name!r} (known: {', '.join(sorted(TISSUES))})"


def get_tissue(name: str) -> Tissue:
    """Look a tissue up by name; raise ``KeyError`` naming the known tissues otherwise."""
    try:
        return TISSUES[name]
    except KeyError:
        raise KeyError(unknown_tissue(name)) from None

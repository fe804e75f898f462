"""Figures a clinician can read: slices through the electrode and probe temperature curves.

matplotlib with the Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from thermablate.physics.electrodes import Needle  # noqa: E402
from thermablate.planning.safety import (  # noqa: E402
    NEURAL_TEMPERATURE_THRESHOLD_C,
    neural_safety,
    structure_name,
)

# Grey level of each tissue in the anatomy underlay (bone bright, fluid dark, like CT).
GREY = {
    "cortical-bone": 0.95, "cancellous-bone": 0.70, "tumour-lytic": 0.45, "tumour-sclerotic": 0.85,
    "intervertebral-disc": 0.40, "spinal-cord": 0.30, "csf": 0.12,
    "nerve-root-left": 0.30, "nerve-root-right": 0.30,
    "muscle": 0.35, "fat": 0.22, "bone-cement": 1.0, "liver-ex-vivo": 0.35,
    "cauda-equina": 0.30, "dura": 0.40, "epidural-fat": 0.22,
}  # fmt: skip

CRITERION_LABEL = {
    "arrhenius": "ablation zone (Arrhenius damage ≥ 1)",
    "cem43": "ablation zone (CEM43 ≥ 240 min)",
    "isotherm-50c": "ablation zone (T max ≥ 50 °C)",
}

PLANE_AXES = {"axial": (0, 1, 2), "sagittal": (1, 2, 0), "coronal": (0, 2, 1)}
AXIS_NAME = ("x", "y", "z")


def _slice(arr, normal_axis, index):
    sl = [slice(None)] * 3
    sl[normal_axis] = index
    return arr[tuple(sl)]


def slices_figure(result, path, convergence=None, caveats: tuple[str, ...] = ()):
    """Three orthogonal slices through the active tip: anatomy, peak temperature, zone, nerves.

    ``path`` is a file name, or a binary file object the PNG is written to (a stored plan
    keeps its figure in the database); ``caveats`` as ``neural_safety`` takes them."""
    s = result.scenario
    g = s.grid
    f = result.fields
    tissues = s.tissues
    grey_lut = np.array([GREY.get(t.name, 0.5) for t in tissues])
    anatomy = grey_lut[f["labels"]]
    e0 = s.electrodes[0]
    centre = np.asarray(e0.centre_of_active_mm if isinstance(e0, Needle) else e0.centre_mm)
    ci = g.index_of_m(centre * 1e-3)
    axes_mm = [a * 1e3 for a in g.axes_m()]
    h = g.spacing_mm
    neural_ids = [i for i, t in enumerate(tissues) if t.neural]
    neural = np.isin(f["labels"], neural_ids)
    target = s.generator.target_temp_c if s.generator.mode != "power" else 100.0
    vmax = max(target, float(np.max(np.where(f["electrode"], 0, f["max_temperature_c"]))))
    fig, axs = plt.subplots(1, 3, figsize=(15, 5.4), constrained_layout=True)
    image = None
    for ax, (plane, (ia, ib, normal)) in zip(axs, PLANE_AXES.items(), strict=True):
        k = ci[normal]
        extent = [
            axes_mm[ia][0] - h / 2,
            axes_mm[ia][-1] + h / 2,
            axes_mm[ib][0] - h / 2,
            axes_mm[ib][-1] + h / 2,
        ]
        an = _slice(anatomy, normal, k).T
        tm = _slice(f["max_temperature_c"], normal, k).T
        ax.imshow(
            an, cmap="gray", vmin=0, vmax=1, origin="lower", extent=extent, interpolation="nearest"
        )
        hot = np.ma.masked_less(tm, 39.0)
        image = ax.imshow(hot, cmap="inferno", vmin=37, vmax=vmax, origin="lower", extent=extent,
                          alpha=0.75, interpolation="bilinear")  # fmt: skip
        xa, xb = axes_mm[ia], axes_mm[ib]
        zone = _slice(f["ablated"], normal, k).T.astype(float)
        if zone.any():
            ax.contour(xa, xb, zone, levels=[0.5], colors="cyan", linewidths=2)
        ax.contour(xa, xb, tm, levels=[NEURAL_TEMPERATURE_THRESHOLD_C], colors="white", linewidths=0.8,
                   linestyles="dotted")  # fmt: skip
        nv = _slice(neural, normal, k).T.astype(float)
        if nv.any():
            ax.contour(xa, xb, nv, levels=[0.5], colors="lime", linewidths=1.5, linestyles="dashed")
        el = _slice(f["electrode"], normal, k).T.astype(float)
        if el.any():
            ax.contourf(xa, xb, el, levels=[0.5, 1.5], colors=["#3399ff"], alpha=0.9)
        for name, p in s.probes_mm.items():
            pa, pb, pn = p[ia], p[ib], p[normal]
            if abs(pn - axes_mm[normal][k]) <= 1.5 * h:
                ax.plot(pa, pb, "o", ms=5, mfc="none", mec="white")
                ax.annotate(
                    name,
                    (pa, pb),
                    xytext=(4, 4),
                    textcoords="offset points",
                    color="white",
                    fontsize=8,
                )
        ax.set_xlabel(f"{AXIS_NAME[ia]} [mm]")
        ax.set_ylabel(f"{AXIS_NAME[ib]} [mm]")
        ax.set_title(f"{plane} ({AXIS_NAME[normal]} = {axes_mm[normal][k]:.1f} mm)")
        ax.set_aspect("equal")
    cb = fig.colorbar(image, ax=axs, shrink=0.85, pad=0.01)
    cb.set_label("peak temperature [°C]")
    handles = [
        Line2D([], [], color="cyan", lw=2, label=CRITERION_LABEL[s.criterion]),
        Line2D(
            [],
            [],
            color="0.4",
            lw=1.2,
            ls="dotted",
            label=f"{NEURAL_TEMPERATURE_THRESHOLD_C:g} °C isotherm (white dotted)",
        ),
        Line2D([], [], color="#3399ff", lw=6, label="electrode"),
    ]
    if neural.any():
        handles.insert(
            1,
            Line2D([], [], color="lime", lw=1.5, ls="dashed", label="neural structures and canal"),
        )
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles),
        frameon=False,
        bbox_to_anchor=(0.5, -0.06),
    )
    safety = neural_safety(result, convergence, caveats)
    if safety.status == "below thresholds":
        verdict = "neural structures below the thresholds"
    elif safety.status == "at risk":
        verdict = "NEURAL STRUCTURES AT RISK: " + ", ".join(
            f"{v.structure} ({v.reason()})" for v in safety.at_risk
        )
    elif safety.status == "cannot judge":
        verdict = f"NEURAL SAFETY CANNOT BE JUDGED: {safety.problems_text()}"
    else:
        verdict = f"zone {result.zone.transverse_mm:.0f} x {result.zone.axial_mm:.0f} mm, {result.zone.volume_ml:.2f} ml"
    fig.suptitle(f"{s.title}\n{verdict}", fontsize=12)
    if isinstance(path, str | Path):
        path = Path(path)
    fig.savefig(path, dpi=90, bbox_inches="tight", format="png")
    plt.close(fig)
    return path


def probes_figure(result, path: Path) -> Path:
    """Temperature-time curves at the tip and probes, with the delivered power."""
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    t = result.time_s
    ax.plot(t, result.tip_temperature_c, color="black", lw=2, label="electrode tip (thermocouple)")
    for name, series in result.probe_temperature_c.items():
        ax.plot(t, series, lw=1.5, label=name)
    ax.axhline(NEURAL_TEMPERATURE_THRESHOLD_C, color="red", ls="--", lw=1)
    ax.text(t[-1], NEURAL_TEMPERATURE_THRESHOLD_C + 0.5, f"{NEURAL_TEMPERATURE_THRESHOLD_C:g} °C neural threshold",
            color="red", ha="right", va="bottom", fontsize=9)  # fmt: skip
    ax.set_xlabel("time [s]")
    ax.set_ylabel("temperature [°C]")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(t, result.power_w, color="grey", lw=1, ls=":", label="power")
    ax2.set_ylabel("power [W] (dotted)")
    ax2.set_ylim(0, max(1.0, float(np.nanmax(result.power_w)) * 1.3))
    ax.legend(loc="center right", fontsize=9)
    ax.set_title(result.title, fontsize=11)
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_plots(result, directory, convergence=None) -> list[Path]:
    """Write ``thermal-slices.png`` and ``thermal-probes.png`` into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    return [
        slices_figure(result, d / "thermal-slices.png", convergence),
        probes_figure(result, d / "thermal-probes.png"),
    ]


def comparison_figure(reports: list[tuple[str, dict]], path):
    """Two to four plans side by side: ablation-zone volume and lesion coverage, and the peak
    temperature of each neural structure against the threshold. ``reports`` are (name, stored
    report) pairs (:func:`thermablate.planning.report.report_dict` with ``coverage``);
    ``path`` a file name or binary file object."""
    names = [name for name, _ in reports]
    x = np.arange(len(reports))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.6), constrained_layout=True)
    volumes = [r["ablation_zone"]["volume_ml"] for _, r in reports]
    ax1.bar(x, volumes, color="tab:orange")
    for i, (_, r) in enumerate(reports):
        c = r.get("coverage")
        if c:
            ax1.text(i, volumes[i], f"{100 * c['covered_share']:.0f} % covered",
                     ha="center", va="bottom", fontsize=9)  # fmt: skip
    ax1.set_xticks(x, names, rotation=15, ha="right")
    ax1.set_ylabel("ablation-zone volume [ml]")
    ax1.set_title("Ablation zone")
    # Named from their tissue: a report stored before the roots were split has one value for
    # both roots together, shown as such beside the left and right of a newer one.
    structures = list(dict.fromkeys(
        structure_name(s["tissue"]) for _, r in reports for s in r["safety"]["structures"]
    ))  # fmt: skip
    width = 0.8 / max(1, len(reports))
    for i, (name, r) in enumerate(reports):
        peaks = {structure_name(s["tissue"]): s["max_temp_c"] for s in r["safety"]["structures"]}
        values = [peaks.get(s) if peaks.get(s) is not None else np.nan for s in structures]
        ax2.bar(np.arange(len(structures)) + (i - (len(reports) - 1) / 2) * width, values,
                width, label=name)  # fmt: skip
    ax2.axhline(NEURAL_TEMPERATURE_THRESHOLD_C, color="red", ls="--", lw=1)
    ax2.set_xticks(np.arange(len(structures)), structures, rotation=25, ha="right", fontsize=8)
    ax2.set_ylabel("peak temperature [°C]")
    ax2.set_ylim(35, max(50.0, *(v for _, r in reports for v in
                                (s["max_temp_c"] or 0 for s in r["safety"]["structures"]))) + 3)  # fmt: skip
    ax2.set_title(f"Neural structures (red: {NEURAL_TEMPERATURE_THRESHOLD_C:g} °C threshold)")
    ax2.legend(fontsize=8)
    if isinstance(path, str | Path):
        path = Path(path)
    fig.savefig(path, dpi=90, format="png")
    plt.close(fig)
    return path

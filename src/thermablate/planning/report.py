"""The report of a simulation: its numbers with the neural safety verdict, as text or JSON.

The summary table is what ``thermablate simulate`` prints; the JSON file is what ``--json``
writes (its fields are described in docs/thermal-engine.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from thermablate.physics.results import Result
from thermablate.planning.anatomy import NERVE_ROOT_OF_SIDE
from thermablate.planning.convergence import GridConvergence
from thermablate.planning.safety import (
    NEURAL_CEM43_THRESHOLD_MIN,
    NEURAL_TEMPERATURE_THRESHOLD_C,
    THRESHOLD_SOURCES,
    SafetyVerdict,
    StructureVerdict,
    neural_safety,
    structure_name,
)


def report_dict(
    result: Result, convergence: GridConvergence | None = None, caveats: tuple[str, ...] = ()
) -> dict:
    """JSON-ready report: the engine's numbers, the grid-error estimate and the ``safety``
    verdict (``grid_convergence`` is null when no estimate was asked for; ``caveats`` as
    :func:`~thermablate.planning.safety.neural_safety` takes them)."""
    numbers = result.to_dict()
    time_series = numbers.pop("time_series")
    # The verdict goes before the time series: the long series stay at the end of the file,
    # where a reader of the JSON can skip them.
    return {
        **numbers,
        "grid_convergence": convergence.to_dict() if convergence is not None else None,
        "safety": _safety_dict(neural_safety(result, convergence, caveats)),
        "time_series": time_series,
    }


def _safety_dict(verdict: SafetyVerdict) -> dict:
    return {
        "safe": verdict.safe,
        "status": verdict.status,
        "thresholds": {
            "max_temp_c": NEURAL_TEMPERATURE_THRESHOLD_C,
            "max_cem43_min": NEURAL_CEM43_THRESHOLD_MIN,
            "source": THRESHOLD_SOURCES,
        },
        "structures": [
            {
                "tissue": v.tissue,
                "structure": v.structure,
                # JSON has no NaN: a value that is not finite is written as null.
                "max_temp_c": round(v.max_temperature_c, 2) if v.finite else None,
                "max_cem43_min": float(f"{v.max_cem43_min:.4g}") if v.finite else None,
                "at_risk": v.at_risk,
                "reason": v.reason(),
            }
            for v in verdict.structures
        ],
        "not_modelled": list(verdict.not_modelled),
        "problems": verdict.problems_text() or None,
        "model_leaves_out": list(verdict.model_leaves_out),
    }


def write_json(
    result: Result, path: str | Path, convergence: GridConvergence | None = None
) -> None:
    """Write :func:`report_dict` to ``path`` (UTF-8, indented)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(report_dict(result, convergence), f, indent=2, ensure_ascii=False)


def summary(result: Result, convergence: GridConvergence | None = None) -> str:
    """The plain-text summary table printed after a run."""
    lines = [result.title, "=" * len(result.title)]
    if result.stopped_reason:
        lines.append(f"STOPPED: {result.stopped_reason}")
    z = result.zone
    lines += [
        f"Grid {result.cells:,} cells at {result.spacing_mm:g} mm, {result.steps} steps of {result.time_step_s:.3f} s"
        + (f" ({result.shortened_steps} shortened)" if result.shortened_steps else "")
        + f", computed in {result.wall_time_s:.1f} s",
        f"Energy delivered {result.energy_delivered_j:.0f} J (mean power {result.energy_delivered_j / max(result.time_s[-1], 1e-9):.2f} W)",
        f"Ablation zone ({z.criterion}): {z.axial_mm:.1f} mm along the electrode x {z.transverse_mm:.1f} mm across,"
        f" {z.volume_ml:.2f} ml",
        "",
        f"{'probe':<28}{'final °C':>10}{'max °C':>10}{'CEM43 min':>12}",
    ]
    for p in result.probes:
        lines.append(
            f"{p.name:<28}{p.final_temp_c:>10.1f}{p.max_temp_c:>10.1f}{p.cem43_min:>12.3g}"
        )
    verdict = neural_safety(result, convergence)
    judged = {v.tissue: v for v in verdict.structures}
    lines += ["", f"{'tissue':<28}{'max °C':>10}{'max CEM43 min':>16}  neural verdict"]
    for name, v in result.tissues.items():
        lines.append(
            f"{name:<28}{v['max_temp_c']:>10.1f}{v['max_cem43_min']:>16.3g}"
            + (f"  {_structure_verdict(judged[name])}" if name in judged else "")
        )
    if judged:
        lines.append(
            "Neural peaks are read over the anatomy's exact shapes (the preset's geometry)."
            if result.neural_peaks_over_exact_shapes
            else "Neural peaks are each structure's hottest voxel (the anatomy, a segmented image "
            "or one tissue, has no exact shapes)."
        )
    if judged.keys() & set(NERVE_ROOT_OF_SIDE.values()):
        lines.append(
            "Left and right are the patient's: nerve-root-left is the exiting nerve root on "
            "the patient's left, nerve-root-right the one on the right."
        )
    lines.append("")
    lines += convergence_lines(convergence)
    return "\n".join(lines + safety_lines(verdict))


def _structure_verdict(v: StructureVerdict) -> str:
    if v.at_risk:
        return "AT RISK"
    return "below thresholds" if v.finite else "not finite"


def convergence_lines(convergence: GridConvergence | None) -> list[str]:
    """The grid-error estimate in words, with a warning for each quantity over tolerance."""
    if convergence is None:
        return ["Grid error: not estimated (thermablate simulate estimates it by default).", ""]
    if convergence.not_available:
        return [f"Grid error: not estimated: {convergence.not_available}.", ""]
    head = (
        f"Grid error, estimated against the same run at {convergence.coarse_spacing_mm:g} mm: "
        + ("within the tolerances." if convergence.converged else "WARNING, refine the grid:")
    )
    return [head] + [f"  {w}" for w in convergence.warnings] + [""]


def safety_lines(verdict: SafetyVerdict) -> list[str]:
    """The verdict in words: each structure at risk, what could not be judged, what is absent."""
    thresholds = f"{NEURAL_TEMPERATURE_THRESHOLD_C:g} °C, CEM43 {NEURAL_CEM43_THRESHOLD_MIN:g} min"
    status = verdict.status
    if status == "nothing to judge":
        lines = ["Safety: no neural structure in the model, so nothing is judged."]
    elif status == "below thresholds":
        names = ", ".join(v.structure for v in verdict.structures)
        lines = [f"Safety: below the thresholds ({thresholds}): {names}."]
    else:
        lines = [
            f"Safety: AT RISK {v.tissue} ({v.structure}): {v.reason()}" for v in verdict.at_risk
        ]
        if verdict.problems_text():
            lines.append(f"Safety: CANNOT JUDGE: {verdict.problems_text()}.")
    if verdict.not_modelled:
        absent = ", ".join(structure_name(name) for name in verdict.not_modelled)
        lines.append(f"Not in this model: {absent}.")
    lines.append(f"The model leaves out: {'; '.join(verdict.model_leaves_out)}.")
    return lines

"""``thermablate simulate``: run a scenario file or a preset from the command line.

No Django, no database. Bad input prints one line to stderr and returns 2.
"""

from __future__ import annotations

import argparse
import sys

from thermablate.physics.scenario import ScenarioError, load_scenario, preset_scenario

PRESETS = ("osteoid-osteoma", "lumbar-metastasis")


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, no usage dump
        raise ScenarioError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="thermablate simulate", description="Simulate RF ablation of bone and spine.")
    p.add_argument("scenario", nargs="?", help="scenario file (TOML)")
    p.add_argument("--preset", choices=PRESETS, help="run a preset with its default settings")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--plots", metavar="DIR", help="write PNG figures into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, duration_s: float, stream=None, width: int = 30):
        self.duration_s = duration_s
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, t_s: float, state) -> None:
        frac = min(1.0, t_s / self.duration_s)
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {100 * frac:5.1f}%  t = {t_s:6.1f} s  tip {state.tip_temperature_c:5.1f} °C"
            f"  power {state.power_w:5.2f} W"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def summary(result) -> str:
    """The plain-text summary table printed after a run."""
    lines = [result.title, "=" * len(result.title)]
    if result.stopped_reason:
        lines.append(f"STOPPED: {result.stopped_reason}")
    z = result.zone
    lines += [
        f"Grid {result.cells:,} cells at {result.spacing_mm:g} mm, {result.steps} steps of {result.time_step_s:.3f} s,"
        f" computed in {result.wall_time_s:.1f} s",
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
    lines += ["", f"{'tissue':<28}{'max °C':>10}{'max CEM43 min':>16}"]
    for name, v in result.tissues.items():
        lines.append(f"{name:<28}{v['max_temp_c']:>10.1f}{v['max_cem43_min']:>16.3g}")
    lines.append("")
    if not result.safety:
        lines.append("Safety: no neural structure in the model.")
    elif result.safe:
        lines.append(
            "Safety: spinal cord and nerve roots stay below the thresholds (45 °C, CEM43 1 min)."
        )
    else:
        for v in result.safety:
            if v.at_risk:
                lines.append(f"Safety: AT RISK {v.tissue}: {v.reason()}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Entry point; ``argv`` excludes the word ``simulate``. Returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        if bool(args.scenario) == bool(args.preset):
            raise ScenarioError("give either a scenario file or --preset NAME")
        scenario = preset_scenario(args.preset) if args.preset else load_scenario(args.scenario)
    except ScenarioError as exc:
        print(f"thermablate simulate: error: {exc}", file=sys.stderr)
        return 2
    from thermablate.physics.engine import simulate

    progress = None if args.quiet else Progress(scenario.duration_s)
    try:
        result = simulate(scenario, progress=progress)
    except (ValueError, RuntimeError) as exc:
        if progress:
            progress.close()
        print(f"thermablate simulate: error: {exc}", file=sys.stderr)
        return 2
    if progress:
        progress.close()
    print(summary(result))
    try:
        if args.json:
            result.to_json(args.json)
            print(f"\nResults written to {args.json}")
        if args.plots:
            from thermablate.physics.plots import write_plots

            for path in write_plots(result, args.plots):
                print(f"Figure written to {path}")
    except OSError as exc:
        print(f"thermablate simulate: error: cannot write output ({exc})", file=sys.stderr)
        return 2
    return 0

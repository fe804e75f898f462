"""``thermablate simulate``: run a scenario file or a preset from the command line.

No Django, no database. Bad input prints one line to stderr and returns 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from thermablate.physics.engine import simulate
from thermablate.physics.scenario import ScenarioError
from thermablate.planning.convergence import grid_convergence
from thermablate.planning.presets import PRESET_NAMES
from thermablate.planning.report import summary, write_json
from thermablate.planning.scenario import read_scenario_file, scenario_from_dict


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2, no usage dump
        raise ScenarioError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="thermablate simulate", description="Simulate RF ablation of bone and spine.")
    p.add_argument("scenario", nargs="?", help="scenario file (TOML)")
    p.add_argument("--preset", choices=PRESET_NAMES, help="run a preset with its default settings")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--plots", metavar="DIR", help="write PNG figures into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument(
        "--no-convergence",
        action="store_true",
        help="skip the second run on a coarser grid that estimates the grid error",
    )
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


def main(argv: list[str]) -> int:
    """Entry point; ``argv`` excludes the word ``simulate``. Returns the exit code."""
    try:
        args = _parser().parse_args(argv)
        if bool(args.scenario) == bool(args.preset):
            raise ScenarioError("give either a scenario file or --preset NAME")
        if args.preset:
            data, base_dir = {"anatomy": {"preset": args.preset}}, None
        else:
            data, base_dir = read_scenario_file(args.scenario), Path(args.scenario).parent
        scenario = scenario_from_dict(data, base_dir=base_dir)
    except ScenarioError as exc:
        print(f"thermablate simulate: error: {exc}", file=sys.stderr)
        return 2

    progress = None if args.quiet else Progress(scenario.duration_s)
    convergence = None
    try:
        result = simulate(scenario, progress=progress)
        if progress:
            progress.close()
        if not args.no_convergence:
            if not args.quiet:
                print("Estimating the grid error on a coarser grid...", file=sys.stderr)
            convergence = grid_convergence(data, result, base_dir)
    except (ValueError, RuntimeError) as exc:
        if progress:
            progress.close()
        print(f"thermablate simulate: error: {exc}", file=sys.stderr)
        return 2
    print(summary(result, convergence))
    try:
        if args.json:
            write_json(result, args.json, convergence)
            print(f"\nResults written to {args.json}")
        if args.plots:
            from thermablate.planning.plots import write_plots  # matplotlib: only when asked

            for path in write_plots(result, args.plots, convergence):
                print(f"Figure written to {path}")
    except OSError as exc:
        print(f"thermablate simulate: error: cannot write output ({exc})", file=sys.stderr)
        return 2
    return 0

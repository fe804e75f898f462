"""Running a plan in the background: the simulation, its grid-error estimate, the report, the
figure; progress written as it goes; a run that fails says why (a run whose worker stopped is
retried once, then failed with the reason: ``recovery.py``).
"""

from __future__ import annotations

import io
import logging
import time

from thermablate.physics.engine import simulate
from thermablate.physics.scenario import ScenarioError
from thermablate.planning.convergence import grid_convergence
from thermablate.planning.coverage import result_coverage
from thermablate.planning.report import report_dict
from thermablate.planning.scenario import scenario_from_dict
from thermablate.plans import run_records
from thermablate.plans.models import Plan, PlanStatus

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.5
"""Wall-clock interval of the progress writes: the page polls every second. [s]"""

STALLED_AFTER_S = 60.0
"""A running plan with no heartbeat for this long has lost its worker. Every phase of a run
beats at least every ``PROGRESS_EVERY_S`` except building the grid and drawing the figure,
which take a second or two. [s]"""

MAX_ATTEMPTS = 2
"""A plan whose worker stops is retried once; a second stop fails it with the reason."""


class _Progress:
    """The engine's progress callback: writes the simulated time and tip temperature (or only
    the heartbeat, during the grid-error run) at most every ``PROGRESS_EVERY_S``."""

    def __init__(self, plan_id: int, duration_s: float, report_time: bool = True):
        self.plan_id = plan_id
        self.duration_s = duration_s
        self.report_time = report_time
        self.last = 0.0

    def __call__(self, t_s: float, state) -> None:
        now = time.monotonic()
        at_end = t_s >= self.duration_s * (1 - 1e-9)
        if now - self.last < PROGRESS_EVERY_S and not at_end:
            return
        self.last = now
        if self.report_time:
            run_records.record_progress(self.plan_id, t_s, state.tip_temperature_c)
        else:
            run_records.record_progress(self.plan_id, None, None)


def run(plan_id: int) -> str:
    """Run a queued plan to its stored result or failure; returns the plan's final status."""
    plan = run_records.claim(plan_id)
    if plan is None:
        return "not queued"
    try:
        result_dict, png = compute(plan)
    except (ScenarioError, ValueError, RuntimeError, MemoryError) as exc:
        run_records.record_failure(plan_id, f"The simulation could not be run: {exc}")
        return PlanStatus.FAILED
    except Exception as exc:  # any other failure is still the plan's, and said on its page
        logger.exception("plan %s failed", plan_id)
        run_records.record_failure(
            plan_id, f"The simulation failed unexpectedly ({type(exc).__name__}: {exc})."
        )
        return PlanStatus.FAILED
    run_records.record_result(plan_id, result_dict, png)
    return PlanStatus.SUCCEEDED


def compute(plan: Plan) -> tuple[dict, bytes]:
    """The stored result of a plan (report, coverage, grid error) and its slice figure."""
    from thermablate.planning.plots import slices_figure  # matplotlib: only in the worker

    caveats = tuple(plan.caveats)
    scenario = scenario_from_dict(plan.scenario)
    result = simulate(scenario, progress=_Progress(plan.pk, scenario.duration_s))
    convergence = grid_convergence(
        plan.scenario, result, progress=_Progress(plan.pk, scenario.duration_s, report_time=False)
    )
    report = report_dict(result, convergence, caveats)
    coverage = result_coverage(result)
    report["coverage"] = coverage.to_dict() if coverage is not None else None
    report["caveats"] = list(caveats)
    figure = io.BytesIO()
    slices_figure(result, figure, convergence, caveats)
    return report, figure.getvalue()

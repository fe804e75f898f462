"""The governance committee report and the operator's appraisal report: figures, charts and
the text that says where every number comes from, rendered to HTML or PDF (WeasyPrint)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone

from thermablate import __version__ as thermablate_version
from thermablate.audit import aggregates, charts, queries
from thermablate.audit.analysis import cusum, funnel, outcomes, safety
from thermablate.audit.analysis.summary import AuditFigures
from thermablate.audit.planning import planning_figures
from thermablate.clinical import eq5d, opioids
from thermablate.proms import figures as completeness
from thermablate.registry.models import Assessment


@dataclass(frozen=True)
class Sources:
    """The methods line printed under every report."""

    eq5d_value_set: str = eq5d.describe()
    ome_table: str = f"opioid conversion table v{opioids.CONVERSION_TABLE_VERSION}: " + "; ".join(
        source.split(". ")[0] for source in opioids.CONVERSION_TABLE_SOURCES
    )
    cusum: str = (
        f"Bernoulli CUSUM (Steiner et al. 2000, Biostatistics 1:441-52), not risk-adjusted; "
        f"acceptable rate {cusum.ACCEPTABLE_RATE:.0%}, detects an odds ratio of "
        f"{cusum.ODDS_RATIO_TO_DETECT:g}, decision limit h = {cusum.DECISION_LIMIT:g}"
    )
    funnel: str = (
        "exact binomial 95 % and 99.8 % limits (Spiegelhalter 2005, Stat Med 24:1185-1202)"
    )
    intervals: str = (
        "proportions: Wilson 1927 score interval; mean change: paired t interval; median change: "
        "sign-test order-statistic interval (Conover 1999), achieved coverage >= 95 %"
    )
    evidence: str = safety.EVIDENCE_NOTE
    agreement: str = (
        "Bland-Altman mean difference (measured - predicted) with 95 % limits of agreement, "
        "mean +- 1.96 SD (Bland & Altman 1986, Lancet 1:307-10; 1999, Stat Methods Med Res "
        "8:135-60)"
    )


def figures_for(cohort: queries.CohortFilter, as_of: date | None = None) -> AuditFigures:
    """The report's figures, counted by the database (``aggregates``; the same figures as
    ``analyse(queries.load_tables(cohort), ...)``, in a fraction of the time)."""
    return aggregates.figures(cohort, as_of or timezone.localdate(), queries.EVENT_TYPES)


def chart_set(figures: AuditFigures) -> dict[str, str]:
    result = {
        "follow_up": charts.follow_up_chart(figures.follow_up),
        "events": charts.events_chart(figures.events),
        "cusum": charts.cusum_chart(figures.cusum),
        "funnel": charts.funnel_chart(figures.operator_funnel),
    }
    for measure in outcomes.MEASURES:
        result[measure.column] = charts.outcome_chart(figures.outcomes[measure.column])
    return result


def questionnaire_figures(cohort: queries.CohortFilter, as_of: date) -> completeness.Completeness:
    """Who completed the follow-ups, and how the patients' own questionnaires reached them."""
    assessments = Assessment.objects.filter(
        procedure__in=queries.procedures_in(cohort).values("id")
    )
    return completeness.completeness(assessments, as_of)


def governance_context(cohort: queries.CohortFilter, as_of: date | None = None) -> dict:
    figures = figures_for(cohort, as_of)
    plans = planning_figures(cohort)
    charts_ = chart_set(figures)
    if plans.pairs:
        charts_["agreement"] = charts.agreement_chart(plans)
    return {
        "planning": plans,
        "questionnaires": questionnaire_figures(cohort, as_of or timezone.localdate()),
        "planning_rows": [("Length", plans.length), ("Width", plans.width)],
        "title": "Outcomes audit: governance committee report",
        "cohort": cohort,
        "cohort_description": cohort.describe(),
        "figures": figures,
        "measures": [(m, figures.outcomes[m.column]) for m in outcomes.MEASURES],
        "charts": charts_,
        "sources": Sources(),
        "generated_at": timezone.now(),
        "version": thermablate_version,
    }


@dataclass(frozen=True)
class Comparison:
    label: str
    operator: str
    site: str


def _share_text(proportion) -> str:
    if proportion.share is None:
        return "–"
    return f"{100 * proportion.share:.0f} % ({proportion.count}/{proportion.total})"


def appraisal_context(
    cohort: queries.CohortFilter, operator_id: int, operator_name: str, as_of: date | None = None
) -> dict:
    """The operator's own cases beside the site's, for their annual appraisal (NICE 2022
    consultation 1.2: discuss the outcomes during annual appraisal)."""
    as_of = as_of or timezone.localdate()
    site_figures = figures_for(replace(cohort, operator_id=None), as_of)
    own_figures = figures_for(replace(cohort, operator_id=operator_id), as_of)
    rows = [
        Comparison(
            "Procedures", str(own_figures.size.procedures), str(site_figures.size.procedures)
        )
    ]
    for measure in outcomes.MEASURES:
        for own, site in zip(
            own_figures.outcomes[measure.column], site_figures.outcomes[measure.column], strict=True
        ):
            if site.pairs == 0:
                continue
            rows.append(
                Comparison(
                    f"{measure.label} at {own.label}: {measure.improvement_label}",
                    _share_text(own.improved),
                    _share_text(site.improved),
                )
            )
    for own, site in zip(own_figures.events, site_figures.events, strict=True):
        if site.events or own.events or site.code == "any":
            rows.append(
                Comparison(
                    f"Adverse events: {own.label}", _share_text(own.rate), _share_text(site.rate)
                )
            )
    own_cusum = [chart for chart in site_figures.cusum if chart.unit == operator_name]
    highlighted = funnel.Funnel(
        site_figures.operator_funnel.target,
        [
            point if point.unit == operator_name else replace(point, unit="")
            for point in site_figures.operator_funnel.points
        ],
        site_figures.operator_funnel.n_grid,
        site_figures.operator_funnel.limits,
    )
    return {
        "title": f"Annual appraisal: outcomes of {operator_name}",
        "cohort": cohort,
        "cohort_description": cohort.describe(),
        "operator_name": operator_name,
        "rows": rows,
        "own": own_figures,
        "site": site_figures,
        "own_cusum": own_cusum[0] if own_cusum else None,
        "charts": {
            "cusum": charts.cusum_chart(own_cusum),
            "funnel": charts.funnel_chart(highlighted),
        },
        "sources": Sources(),
        "generated_at": timezone.now(),
        "version": thermablate_version,
    }


def render_html(template: str, context: dict) -> str:
    return render_to_string(template, context)


def render_pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML

    # The reports embed their charts and style; nothing else may be fetched, so markup that
    # ever slipped through could not pull a local file or an internal URL into a report.
    html = HTML(
        string=render_html(template, {**context, "for_pdf": True}), url_fetcher=pdf_url_fetcher()
    )
    return html.write_pdf()


def pdf_url_fetcher():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})

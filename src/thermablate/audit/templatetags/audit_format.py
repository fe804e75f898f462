"""How the audit prints its figures: shares with counts and intervals, estimates with CIs."""

from django import template

register = template.Library()

DASH = "–"


@register.filter
def share(proportion) -> str:
    """E.g. "82 % (41/50)"."""
    if proportion is None or proportion.share is None:
        return f"{DASH} (0/0)"
    return f"{100 * proportion.share:.0f} % ({proportion.count}/{proportion.total})"


@register.filter
def share_interval(proportion) -> str:
    """E.g. "70–90 %"."""
    if proportion is None or proportion.low is None:
        return DASH
    return f"{100 * proportion.low:.0f}–{100 * proportion.high:.0f} %"


@register.filter
def estimate(value, digits: int = 1) -> str:
    """An Estimate as "-3.5 (-4.1 to -2.9)", or "-3.5" without interval, or a dash."""
    if value is None or value.value is None:
        return DASH
    text = f"{value.value:.{digits}f}"
    if value.low is not None:
        text += f" ({value.low:.{digits}f} to {value.high:.{digits}f})"
    return text


@register.filter
def number(value, digits: int = 1) -> str:
    if value is None:
        return DASH
    return f"{value:.{digits}f}"


@register.filter
def get_chart(charts: dict, key: str) -> str:
    return charts.get(key, "")

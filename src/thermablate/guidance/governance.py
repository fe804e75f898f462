"""Which NICE guidance governs each procedure, and which document supersedes another.

(Whether a site may do a procedure is the site's record: ``thermablate.registry.approvals``.)"""

import json
from functools import cache
from importlib import resources

from thermablate.guidance.models import Guidance


@cache
def procedure_rules() -> dict:
    text = (
        resources.files("thermablate.guidance")
        .joinpath("data/procedure_guidance.json")
        .read_text("utf-8")
    )
    return json.loads(text)


def guidance_key_for(procedure_type: str) -> str | None:
    rule = procedure_rules()["procedures"].get(procedure_type)
    return rule["guidance"] if rule else None


def successor_of(key: str) -> str | None:
    """The document that supersedes ``key`` on the same topic, from NICE's own statements."""
    rule = procedure_rules()["successors"].get(key)
    if rule:
        return rule["by"]
    # Otherwise a document in the catalogue that says it replaces this one (a small table).
    for guidance in Guidance.objects.only("key", "record"):
        if key in guidance.record.get("replaces", []):
            return guidance.key
    return None

"""Where the apps above the registry add to its pages without the registry importing them
(imports run only downward): an app registers its functions here from its ``AppConfig.ready``.

- ``TIMELINE_SOURCES``: ``source(patient) -> list[TimelineEntry]``, entries the patient's
  timeline shows beside the registry's own (plans, for example);
- ``LESION_LINKS``: ``links(user, lesion) -> list[(label, url)]``, actions offered on a lesion's
  row of the patient page ("Plan ablation"), each already checked against the user's
  permissions;
- ``PROCEDURE_SECTIONS``: ``section(request, procedure) -> str``, HTML the procedure page shows
  after its own record (rendered by the app's template, so escaped there);
- ``PATIENT_SECTIONS``: ``section(request, patient) -> str``, HTML the MDT decision and consent
  pages show above their form (the chosen plan's summary, for example);
- ``PATIENT_LINKS``: ``links(user, patient) -> list[(label, url)]``, pages of the patient's
  offered on the patient page ("Contact for questionnaires"), each already checked against
  the user's permissions.
"""

from collections.abc import Callable

TIMELINE_SOURCES: list[Callable] = []
LESION_LINKS: list[Callable] = []
PROCEDURE_SECTIONS: list[Callable] = []
PATIENT_SECTIONS: list[Callable] = []
PATIENT_LINKS: list[Callable] = []


def register_timeline_source(source: Callable) -> None:
    if source not in TIMELINE_SOURCES:
        TIMELINE_SOURCES.append(source)


def register_lesion_links(links: Callable) -> None:
    if links not in LESION_LINKS:
        LESION_LINKS.append(links)


def lesion_links(user, lesion) -> list[tuple[str, str]]:
    return [link for source in LESION_LINKS for link in source(user, lesion)]


def register_procedure_section(section: Callable) -> None:
    if section not in PROCEDURE_SECTIONS:
        PROCEDURE_SECTIONS.append(section)


def register_patient_section(section: Callable) -> None:
    if section not in PATIENT_SECTIONS:
        PATIENT_SECTIONS.append(section)


def procedure_sections(request, procedure) -> list[str]:
    return [html for section in PROCEDURE_SECTIONS if (html := section(request, procedure))]


def patient_sections(request, patient) -> list[str]:
    return [html for section in PATIENT_SECTIONS if (html := section(request, patient))]


def register_patient_links(links: Callable) -> None:
    if links not in PATIENT_LINKS:
        PATIENT_LINKS.append(links)


def patient_links(user, patient) -> list[tuple[str, str]]:
    return [link for source in PATIENT_LINKS for link in source(user, patient)]

"""A site's device library (``SiteDevice.library``: the shipped, cited table and the site's
own rows) as the planning and the procedure pages offer it."""

from thermablate.planning.devices import DeviceLibrary
from thermablate.registry.models import Site, SiteDevice


def site_library(site: Site) -> DeviceLibrary:
    return SiteDevice.library(site)


def device_choices(site: Site) -> list[tuple[str, str]]:
    return [("", "Not in the library")] + [
        (d.device_id, d.label + (" (this site's)" if d.site_defined else ""))
        for d in site_library(site).devices
    ]

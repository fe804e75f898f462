"""A site's device library (``SiteDevice.library``: the shipped, cited table and the site's
own rows) as the procedure page offers it."""

from thermablate.registry.models import Site, SiteDevice


def device_choices(site: Site) -> list[tuple[str, str]]:
    return [("", "Not in the library")] + [
        (d.device_id, d.label + (" (this site's)" if d.site_defined else ""))
        for d in SiteDevice.library(site).devices
    ]

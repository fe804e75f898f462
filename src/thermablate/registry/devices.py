"""A site's device library: the shipped, cited table (``planning.devices``) and the site's own
rows (``SiteDevice``), offered alike by the planning and the procedure pages."""

from thermablate.planning.devices import DeviceLibrary, device_from_row, shipped_library
from thermablate.registry.models import Site, SiteDevice


def site_library(site: Site) -> DeviceLibrary:
    own = [
        device_from_row(device.as_row(), site_defined=True)
        for device in SiteDevice.objects.filter(site=site).order_by("device_id")
    ]
    return shipped_library().with_site_devices(own)


def device_choices(site: Site) -> list[tuple[str, str]]:
    return [("", "Not in the library")] + [
        (d.device_id, d.label + (" (this site's)" if d.site_defined else ""))
        for d in site_library(site).devices
    ]

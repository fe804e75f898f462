"""Who is at the other end of a request: the client's address, believing proxy headers only
from the reverse proxies the site named (THERMABLATE_TRUSTED_PROXIES). Used by the lock-out
(django-axes), the audit trail's sign-in and token entries, and the middleware that strips
proxy headers from everyone else. Imports nothing of Thermablate's but the settings helpers.
"""

import re

from django.conf import settings

from thermablate.web.env import canonical_ip_address


def _address(text: str | None) -> str | None:
    """The canonical form of an address as a proxy writes it, or None if it is not one.
    Some proxies add the client's port ('203.0.113.5:51234', '[2001:db8::7]:443')."""
    if not text:
        return None
    text = text.strip()
    with_port = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::\d+)?|(\d{1,3}(?:\.\d{1,3}){3}):\d+", text)
    if with_port:
        text = with_port.group(1) or with_port.group(2)
    try:
        return canonical_ip_address(text)
    except ValueError:
        return None


def is_trusted_proxy(address: str | None) -> bool:
    return _address(address) in settings.TRUSTED_PROXIES


def client_address(request) -> str | None:
    """The client's address, as django-axes keys its lock-outs (AXES_CLIENT_IP_CALLABLE).

    REMOTE_ADDR, unless that is a trusted reverse proxy (THERMABLATE_TRUSTED_PROXIES): then
    X-Forwarded-For read from the right, where each proxy appended the address it saw, up to
    the first hop that is not a trusted proxy. Anything further left was written by the
    client itself and proves nothing; a hop that is not an address stops the walk there.
    """
    remote = request.META.get("REMOTE_ADDR")
    if not is_trusted_proxy(remote):
        return remote
    address = _address(remote)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed([h for h in hops if h.strip()]):
        hop_address = _address(hop)
        if hop_address is None:
            break
        address = hop_address
        if address not in settings.TRUSTED_PROXIES:
            break
    return address

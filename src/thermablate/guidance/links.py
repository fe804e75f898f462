"""Which stored source addresses may become links on a page.

A guidance record's source is whatever the importer was given: a NICE address, a file name, or
text someone typed. Only an address on NICE's own site is made a link; anything else (a
``javascript:`` address, another host, a look-alike such as ``www.nice.org.uk.example.com`` or
``https://www.nice.org.uk@example.com/``) is shown as plain text, so a stored value can never
send a reader somewhere else or run script.
"""

from urllib.parse import urlsplit

NICE_HOST = "www.nice.org.uk"


def nice_address(text: str | None) -> str | None:
    """``text`` if it is an https://www.nice.org.uk/... address, else None."""
    if not text:
        return None
    # Whitespace or control characters inside an address are a sign of tampering, not a typo
    # worth repairing (browsers strip some of them and would read a different address).
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text) or "\\" in text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    # The network location must be exactly the host: no user name, password or port.
    if parts.scheme != "https" or parts.netloc.lower() != NICE_HOST:
        return None
    if not parts.path.startswith("/"):
        return None
    return text

"""A real local SMTP server (aiosmtpd) for the e-mail tests: it keeps what it receives, and can
be told to refuse every message."""

from __future__ import annotations

import socket
from email import message_from_bytes

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Mailbox:
    """What the SMTP server received; ``refuse`` makes it answer every message with 554, and
    ``drop`` makes it hang up in the middle of the message."""

    def __init__(self):
        self.messages = []
        self.refuse = False
        self.drop = False
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.drop:  # hang up in the middle of the message, before answering it
            server.transport.close()
            return "421 closing"
        if self.refuse:
            return "554 Transaction failed: refused by the test"
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def bodies(self) -> list[str]:
        return [m.get_payload(decode=True).decode() for m in self.messages]


class _Controller(Controller):
    def factory(self):
        return SMTP(self.handler, hostname="localhost", ident="thermablate-test")


def start(mailbox: Mailbox) -> int:
    """Start a server delivering to ``mailbox``; returns its port (stop: mailbox.controller)."""
    mailbox.controller = _Controller(mailbox, hostname="127.0.0.1", port=free_port())
    mailbox.controller.start()
    return mailbox.controller.port


def use_in_django(settings, port: int) -> None:
    """Point Django's e-mail at the local server (the test settings use the in-memory one)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_TIMEOUT = 5

"""How a message reaches a patient: e-mail through Django's e-mail framework (any SMTP
server), text messages through GOV.UK Notify's official client. Each channel says why it is
not offered when it is not configured, so the staff pages can say so too."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from notifications_python_client.notifications import NotificationsAPIClient


class DeliveryError(Exception):
    """The channel did not take the message; ``detail`` is safe to log (no content)."""

    def __init__(self, detail: str, *, permanent: bool = False):
        super().__init__(detail)
        self.detail = detail[:300]
        # Sending again would fail the same way (a number Notify refuses): not retried.
        self.permanent = permanent


CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


def email_unavailable() -> str:
    # The console backend prints the e-mails: a demo's way to follow the links, never a
    # live site's (nothing would reach the patients, and their links would be in the log).
    demo = settings.DEBUG and settings.EMAIL_BACKEND == CONSOLE_BACKEND
    if not settings.EMAIL_HOST and not demo:
        return "E-mail is not set up at this site (no EMAIL_HOST)."
    return ""


def sms_unavailable() -> str:
    if not (settings.NOTIFY_API_KEY and settings.NOTIFY_SMS_TEMPLATE_ID):
        return (
            "Text messages are not set up at this site (GOV.UK Notify needs NOTIFY_API_KEY and "
            "NOTIFY_SMS_TEMPLATE_ID)."
        )
    return ""


def send_email(to: str, subject: str, body: str) -> None:
    """Hand the message to the SMTP server; DeliveryError if it refuses or drops us."""
    connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to], connection=connection)
    try:
        sent = message.send()
    except Exception as exc:  # smtplib, socket and SSL errors alike: all mean "not sent"
        raise DeliveryError(
            f"The e-mail server did not take the message ({type(exc).__name__})."
        ) from exc
    if sent != 1:
        raise DeliveryError("The e-mail server did not take the message.")


def send_sms(to: str, personalisation: dict[str, str], reference: str) -> str:
    """Send through Notify with the site's template; returns Notify's id of the message."""
    client = NotificationsAPIClient(settings.NOTIFY_API_KEY, base_url=settings.NOTIFY_BASE_URL)
    try:
        response = client.send_sms_notification(
            phone_number=to,
            template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
            personalisation=personalisation,
            reference=reference,
        )
    except Exception as exc:  # the client's HTTPError, connection and timeout errors
        status = getattr(exc, "status_code", None)
        # Notify's 4xx (a bad number, a template that does not exist) stay so; 429 (rate
        # limit) and 5xx pass (docs.notifications.service.gov.uk, "Error codes").
        permanent = isinstance(status, int) and 400 <= status < 500 and status != 429
        what = f"{type(exc).__name__} {status}" if status else type(exc).__name__
        raise DeliveryError(
            f"GOV.UK Notify did not take the message ({what}).", permanent=permanent
        ) from exc
    return str(response.get("id", ""))

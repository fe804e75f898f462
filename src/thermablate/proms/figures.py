"""How complete the follow-ups are, and who completed them: the figures the audit dashboard and
the committee report show per time point (docs/audit.md, "Patient questionnaires").

Of the follow-ups whose window has opened (the baseline is taken in clinic, so not counted):
- **invited**: a questionnaire invitation was opened for it (the patient agreed to be
  contacted);
- **reminded**: a reminder or text message reached the channel;
- **by patient** / **by staff**: done, and who gave the answers (``Assessment.reported_by``);
- **not possible**: closed without answers (could not be done, or the patient's follow-up
  ended before the window closed);
- **outstanding**: neither, whether its window is still open or has closed.
Response by channel: of the invitations first sent by a channel, the share the patient
answered themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, Subquery

from thermablate.proms.models import Channel, Invitation, Message, MessageKind, MessageStatus
from thermablate.registry import choices as c
from thermablate.registry.models import FOLLOW_UP_ENDED_IN_WINDOW


@dataclass
class TimepointRow:
    timepoint: str
    label: str
    due: int = 0
    invited: int = 0
    reminded: int = 0
    by_patient: int = 0
    by_staff: int = 0
    not_possible: int = 0
    outstanding: int = 0


@dataclass
class ChannelRow:
    channel: str
    label: str
    invited: int = 0
    answered: int = 0

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.invited if self.invited else None


@dataclass
class Completeness:
    timepoints: list[TimepointRow] = field(default_factory=list)
    channels: list[ChannelRow] = field(default_factory=list)

    @property
    def any_invited(self) -> bool:
        return any(row.invited for row in self.timepoints)


def completeness(assessments, today) -> Completeness:
    """Figures over ``assessments`` (a queryset of the audit's scope: its procedures'
    scheduled assessments), counted by the database: a few grouped queries whatever the size
    of the registry."""
    opened = assessments.filter(window_opens__lte=today).exclude(timepoint=c.Timepoint.BASELINE)
    done = Q(assessed_on__isnull=False, entered_in_error=False)
    by_patient = done & Q(reported_by=c.ReportedBy.PATIENT)
    closed = ~done & (~Q(not_done_reason="") | FOLLOW_UP_ENDED_IN_WINDOW)
    reminded = Exists(
        Message.objects.filter(
            invitation__assessment=OuterRef("pk"),
            status=MessageStatus.SENT,
            kind__in=[MessageKind.REMINDER, MessageKind.TEXT],
        )
    )
    counts = {
        row["timepoint"]: row
        for row in opened.annotate(was_reminded=reminded)
        .values("timepoint")
        .annotate(
            due=Count("id"),
            invited=Count("invitation"),
            reminded=Count("id", filter=Q(was_reminded=True)),
            by_patient=Count("id", filter=by_patient),
            by_staff=Count("id", filter=done & ~Q(reported_by=c.ReportedBy.PATIENT)),
            not_possible=Count("id", filter=closed),
        )
        .order_by()
    }
    rows = []
    for value, label in c.Timepoint.choices:
        if value == c.Timepoint.BASELINE:
            continue
        got = counts.get(value, {})
        row = TimepointRow(value, label, **{k: got.get(k, 0) for k in _COUNTS})
        row.outstanding = row.due - row.by_patient - row.by_staff - row.not_possible
        rows.append(row)
    first_channel = Subquery(
        Message.objects.filter(invitation=OuterRef("pk"), status=MessageStatus.SENT)
        .order_by("sent_at", "pk")
        .values("channel")[:1]
    )
    per_channel = (
        Invitation.objects.filter(assessment__in=opened)
        .annotate(first_channel=first_channel)
        .exclude(first_channel=None)
        .values("first_channel")
        .annotate(
            invited=Count("id"),
            answered=Count("id", filter=Q(assessment__reported_by=c.ReportedBy.PATIENT)
                           & Q(assessment__assessed_on__isnull=False, assessment__entered_in_error=False)),
        )
        .order_by()
    )  # fmt: skip
    labels = dict(Channel.choices)
    channels = [
        ChannelRow(
            row["first_channel"], labels[row["first_channel"]], row["invited"], row["answered"]
        )
        for row in sorted(per_channel, key=lambda r: r["first_channel"])
    ]
    return Completeness(timepoints=rows, channels=channels)


_COUNTS = ("due", "invited", "reminded", "by_patient", "by_staff", "not_possible")

"""Helpers shared by the Django tests: personas, valid identifiers, a complete procedure."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.utils import timezone

from thermablate.registry.models import Site, StaffProfile

PASSWORD = "correct-horse-battery-staple"
VALID_NHS_NUMBERS = ["9434765919", "9434765870", "9000000009", "9000000017", "9000000025"]


def make_user(site: Site, role: str, username: str) -> User:
    user = User.objects.create_user(username, password=PASSWORD, first_name=username.title())
    StaffProfile.objects.create(user=user, site=site, role=role)
    user.groups.add(Group.objects.get(name=role))
    return user


def login(client, user):
    client.force_login(user)
    return client


def procedure_fields(lesion, **overrides) -> dict:
    fields = {
        "lesion": lesion,
        "procedure_date": timezone.localdate() - timedelta(days=40),
        "procedure_type": "rfa_vertebroplasty",
        "setting": "day_case",
        "anaesthesia": "local_sedation",
        "approach": "transpedicular",
        "access": "percutaneous",
        "image_guidance": ["fluoroscopy"],
        "device_manufacturer": "Medtronic",
        "device_model": "OsteoCool",
        "polarity": "bipolar",
        "active_tip_mm": Decimal("10"),
        "biopsy_taken": True,
        "cement": "vertebroplasty",
        "cement_volume_ml": Decimal("3.5"),
        "thermal_protection": ["thermocouple"],
        "levels_treated": "L2",
        "duration_min": 75,
        "post_imaging": "ct",
    }
    fields.update(overrides)
    return fields


def quick_plan_options(lesion, **changes):
    """Options of a small, quick plan of a spinal lesion (1 mm grid, 1 minute): for tests of
    the journey and of access, where the physics is not what is tested."""
    from thermablate.planning.lesion_plan import PlanOptions

    options = {"device_id": "monopolar-sharp-cannula", "level": lesion.level_list[0],
               "active_tip_mm": 10.0, "gauge": 18, "spacing_mm": 1.0, "duration_s": 60.0}  # fmt: skip
    return PlanOptions(**{**options, **changes})


def queued_plan(lesion, acting_user, name="A plan", **changes):
    from thermablate.plans.actions import create_plan

    return create_plan(
        lesion, quick_plan_options(lesion, **changes), name=name, acting_user=acting_user
    )

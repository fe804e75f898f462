"""The planning form: pre-filled from the lesion's record and the guidance's defaults, every
value the user may change."""

from django import forms

from thermablate.physics.electrodes import GAUGE_DIAMETER_MM
from thermablate.planning.devices import DeviceLibrary
from thermablate.planning.lesion_plan import SPACINGS_MM, LesionFacts, PlanOptions
from thermablate.plans.models import ObservedZone
from thermablate.web.forms import NhsFormMixin


class PlanForm(NhsFormMixin, forms.Form):
    name = forms.CharField(
        max_length=120,
        required=False,
        help_text="To tell the options apart, e.g. '10 mm tip, 5 min'",
    )
    level = forms.ChoiceField(label="Level to plan at", required=False)
    device_id = forms.ChoiceField(label="Device")
    active_tip_mm = forms.DecimalField(
        label="Active tip (mm)",
        min_value=2,
        max_value=30,
        decimal_places=1,
        required=False,
        help_text="Used where the library does not fix the device's tip",
    )
    gauge = forms.TypedChoiceField(
        label="Gauge", coerce=int, required=False,
        help_text="Used where the library does not fix the device's gauge",
        choices=[("", "The device's")] + [(g, f"{g} G ({d:g} mm)") for g, d in sorted(GAUGE_DIAMETER_MM.items())],
    )  # fmt: skip
    side = forms.ChoiceField(
        label="Approach",
        choices=[("left", "Left transpedicular"), ("right", "Right transpedicular")],
        help_text="The patient's left or right pedicle; the result judges each exiting root",
    )
    target_temp_c = forms.DecimalField(
        label="Target temperature (°C)", min_value=50, max_value=100, decimal_places=1
    )
    duration_min = forms.DecimalField(
        label="Time (minutes)", min_value=0.5, max_value=30, decimal_places=1,
        help_text="NICE IPG53: 85-90 °C for 4-6 minutes for an osteoid osteoma",
    )  # fmt: skip
    max_power_w = forms.DecimalField(label="Power limit (W)", min_value=1, max_value=250)
    spacing_mm = forms.TypedChoiceField(
        label="Grid spacing", coerce=float,
        choices=[(s, f"{s:g} mm") for s in SPACINGS_MM],
        help_text="0.5 mm resolves the canal's thin layers; finer takes about eight times longer",
    )  # fmt: skip
    bone_outer_radius_mm = forms.DecimalField(
        label="Bone outer radius (mm)", min_value=3, max_value=40, decimal_places=1, required=False,
        help_text="Leave empty for the typical size of the recorded bone",
    )  # fmt: skip
    cortical_thickness_mm = forms.DecimalField(
        label="Cortical thickness (mm)", min_value=0.5, max_value=40, decimal_places=1,
        required=False,
    )  # fmt: skip

    def __init__(self, *args, facts: LesionFacts, library: DeviceLibrary, levels, **kwargs):
        super().__init__(*args, **kwargs)
        self.library = library
        self.fields["device_id"].choices = [
            (d.device_id, d.label + (" (cannot be simulated)" if d.cannot_plan_reason() else ""))
            for d in library.devices
        ]
        if facts.spinal:
            self.fields["level"].choices = [(level, level) for level in levels]
            self.fields["level"].required = True
            del self.fields["bone_outer_radius_mm"], self.fields["cortical_thickness_mm"]
        else:
            del self.fields["level"], self.fields["side"]

    @classmethod
    def initial_from(cls, options: PlanOptions) -> dict:
        return {
            "level": options.level,
            "device_id": options.device_id,
            "active_tip_mm": options.active_tip_mm,
            "gauge": options.gauge,
            "side": options.side,
            "target_temp_c": options.target_temp_c,
            "duration_min": options.duration_s / 60,
            "max_power_w": options.max_power_w,
            "spacing_mm": options.spacing_mm,
        }

    def options(self) -> PlanOptions:
        data = self.cleaned_data

        def number(name):
            value = data.get(name)
            return None if value is None else float(value)

        # As the fields' help says: the device's own tip and gauge, where the library fixes
        # them, win over what the form still holds from another device.
        device = next(d for d in self.library.devices if d.device_id == data["device_id"])
        return PlanOptions(
            device_id=data["device_id"],
            level=data.get("level", ""),
            active_tip_mm=None if device.active_tip_mm else number("active_tip_mm"),
            gauge=None if device.gauge else data.get("gauge") or None,
            target_temp_c=float(data["target_temp_c"]),
            duration_s=float(data["duration_min"]) * 60,
            max_power_w=float(data["max_power_w"]),
            side=data.get("side", "left"),
            spacing_mm=float(data["spacing_mm"]),
            bone_outer_radius_mm=number("bone_outer_radius_mm"),
            cortical_thickness_mm=number("cortical_thickness_mm"),
        )


class ObservedZoneForm(NhsFormMixin, forms.ModelForm):
    class Meta:
        model = ObservedZone
        fields = ["imaging", "measured_on", "length_mm", "width_mm", "lesion_covered", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

"""From a lesion's record to a plan's scenario (planning.lesion_plan), the device library,
the long-bone and vertebra tables, and the coverage of the lesion by the zone."""

import math

import numpy as np
import pytest

from thermablate.datafiles import keyed_sources, read_data_file
from thermablate.physics.grid import Grid
from thermablate.planning import long_bones, morphometry
from thermablate.planning.anatomy import Vertebra
from thermablate.planning.coverage import lesion_coverage
from thermablate.planning.devices import DeviceError, library_from_text, shipped_library
from thermablate.planning.lesion_plan import (
    CannotPlan,
    LesionFacts,
    PlanOptions,
    default_options,
    draft_plan,
)

L3_METASTASIS = LesionFacts("spinal_metastasis", ("L3",), "", "lytic", 15.0, 6.0, True)
FEMUR_OSTEOMA = LesionFacts("osteoid_osteoma", (), "left femoral shaft", "not_applicable", 8.0)


def plan(facts, **changes):
    library = shipped_library()
    options = default_options(facts, library)
    return draft_plan(facts, PlanOptions(**{**options.to_dict(), **changes}), library)


def test_it_prefills_a_spinal_metastasis_from_its_record():
    draft = plan(L3_METASTASIS)
    params = draft.scenario["anatomy"]["parameters"]
    assert draft.scenario["anatomy"]["preset"] == "spinal-metastasis"
    assert params["level"] == "L3" and params["tumour_diameter_mm"] == 15.0
    # 6 mm to the cauda equina less the 2.9 mm of epidural space (1.5), dura (0.4) and CSF (1)
    # in front of it: the tumour's edge is 3.1 mm from the posterior wall. (The dura is drawn
    # a 0.5 mm voxel thick, grown outwards, so the cauda equina keeps its place at any grid.)
    assert params["posterior_wall_distance_mm"] == pytest.approx(3.1)
    assert draft.scenario["generator"]["target_temp_c"] == 90.0
    assert draft.scenario["duration_s"] == 300.0
    assert draft.caveats == ()
    # The active tip is centred on the tumour.
    model = draft.extra["model"]
    e = draft.scenario["electrodes"][0]
    centre = np.asarray(e["tip_mm"]) - 0.5 * e["active_tip_mm"] * np.asarray(e["direction"])
    assert np.allclose(centre, model.tumour_centre_mm)


def test_what_the_model_cannot_honour_is_a_caveat_and_the_verdict_cannot_be_safe():
    breached = LesionFacts("spinal_metastasis", ("L3",), "", "lytic", 15.0, 1.0, False)
    draft = plan(breached)
    assert len(draft.caveats) == 2
    assert "breached" in draft.caveats[0] and "closer than the 2.9 mm" in draft.caveats[1]
    assert draft.scenario["anatomy"]["parameters"]["posterior_wall_distance_mm"] == 0.0


def test_a_missing_distance_is_drawn_as_the_worst_case():
    facts = LesionFacts("spinal_metastasis", ("L3",), "", "mixed", 15.0, None, None)
    draft = plan(facts)
    assert draft.scenario["anatomy"]["parameters"]["posterior_wall_distance_mm"] == 0.0
    assert any("worst case" in n for n in draft.notes)
    assert any("mixed" in n and "lytic" in n for n in draft.notes)


@pytest.mark.parametrize(
    "facts, reason",
    [
        (LesionFacts("spinal_metastasis", ("C5",), "", "lytic", 15.0), "vertebral artery"),
        (LesionFacts("spinal_metastasis", ("S1",), "", "lytic", 15.0), "sacrum"),
        (LesionFacts("spinal_metastasis", ("L3",), "", "lytic", None), "no size"),
        (LesionFacts("discogenic_pain", ("L4",), "", "not_applicable", 5.0), "disc"),
        (LesionFacts("bone_metastasis", (), "femur", "lytic", 20.0), "marrow"),
        (LesionFacts("osteoid_osteoma", ("L3",), "", "not_applicable", 8.0), "posterior elements"),
        (LesionFacts("other", ("L3",), "", "lytic", 15.0), "diagnosis is not one"),
        (LesionFacts("spinal_metastasis", ("L3",), "", "lytic", 31.0, 4.0), "does not fit"),
    ],
)
def test_it_says_why_a_lesion_cannot_be_planned(facts, reason):
    with pytest.raises(CannotPlan, match=reason):
        plan(facts)


def test_a_thoracic_level_without_its_morphometry_is_refused_not_drawn_lumbar():
    missing = [lv for lv in morphometry.THORACIC if morphometry.missing_dimensions(lv)]
    if not missing:
        pytest.skip("every thoracic level is tabulated")
    facts = LesionFacts("spinal_metastasis", (missing[0],), "", "lytic", 12.0, 5.0, True)
    with pytest.raises(CannotPlan, match="morphometry table"):
        plan(facts)


def test_a_partly_tabulated_thoracic_level_keeps_its_cells_and_is_still_refused():
    # T12 has canal depth, pedicle width and (since 1.2.0) body height, but no body width or
    # depth: its cells are read, and the level is refused naming what is missing, not drawn
    # with lumbar stand-ins for the rest.
    row = morphometry.table().rows["T12"]
    assert row["body_height_mm"] == pytest.approx(23.12)
    assert row["canal_depth_mm"] == pytest.approx(18.10)
    assert row["pedicle_diameter_mm"] == pytest.approx(8.70)
    missing = morphometry.missing_dimensions("T12")
    assert {"body_width_mm", "body_depth_mm"} <= set(missing)
    assert "body_height_mm" not in missing
    assert morphometry.stand_in_dimensions("T12") == []
    reason = morphometry.cannot_model_reason("T12")
    assert "body width" in reason and "body depth" in reason and "body height" not in reason
    with pytest.raises(ValueError, match="no body width"):
        morphometry.level_dimensions("T12")
    facts = LesionFacts("spinal_metastasis", ("T12",), "", "lytic", 12.0, 5.0, True)
    with pytest.raises(CannotPlan, match="morphometry table"):
        plan(facts)


def test_every_morphometry_row_source_has_its_header_line():
    meta, rows = read_data_file("thermablate.planning", morphometry.DATA_FILE)
    declared = keyed_sources(meta)
    columns = ("source_body", "source_canal", "source_pedicle", "source_cord")
    used = {row[c].strip() for row in rows for c in columns if row[c].strip()}
    assert used and used <= set(declared)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"device_id": "osteocool-bipolar"}, "internally cooled"),
        ({"device_id": "star-spinestar-bipolar"}, "cooled"),
        ({"target_temp_c": 95.0}, "above the 90 °C"),
        ({"duration_s": 400.0}, "longer than this device's longest cycle"),
        ({"active_tip_mm": 40.0}, "outside 2-30 mm"),
        ({"level": "L4"}, "not one of this lesion's levels"),
        ({"spacing_mm": 0.3}, "grid spacing"),
        ({"device_id": "no-such-device"}, "no device"),
    ],
)
def test_settings_the_device_or_model_cannot_take_are_refused(changes, message):
    with pytest.raises(CannotPlan, match=message):
        plan(L3_METASTASIS, **changes)


def test_an_active_tip_longer_than_the_nidus_and_its_roof_is_refused():
    assert plan(FEMUR_OSTEOMA, active_tip_mm=10.0)  # 5 mm into the nidus and its 2 mm roof: fits
    with pytest.raises(CannotPlan, match="heat the soft tissue outside the bone"):
        plan(FEMUR_OSTEOMA, active_tip_mm=15.0)


def test_an_active_tip_reaching_past_the_vertebral_body_is_refused():
    small = LesionFacts("spinal_metastasis", ("L3",), "", "lytic", 8.0, 20.0, True)
    with pytest.raises(CannotPlan, match="outside the vertebra"):
        plan(small, active_tip_mm=30.0)


def test_the_long_bone_is_drawn_at_the_recorded_sites_size():
    row = long_bones.typical_dimensions("Left femoral shaft")
    assert row is not None and row.site == "femur"
    draft = plan(FEMUR_OSTEOMA)
    params = draft.scenario["anatomy"]["parameters"]
    assert params["bone_outer_radius_mm"] == pytest.approx(row.outer_radius_mm)
    # reactive sclerosis: at least 2 mm of cortex around the 8 mm nidus on each side
    assert params["cortical_thickness_mm"] >= 12.0
    assert long_bones.typical_dimensions("left knee") is None
    with pytest.raises(CannotPlan, match="outer radius"):
        plan(LesionFacts("osteoid_osteoma", (), "talus", "not_applicable", 8.0))
    assert plan(
        LesionFacts("osteoid_osteoma", (), "talus", "not_applicable", 8.0),
        bone_outer_radius_mm=15.0,
    )


def test_a_path_through_the_canal_is_detected():
    model = Vertebra(level="L3")
    cx, cy = model.canal_centre_mm
    assert model.path_crosses_canal((cx, cy + 20, 0.0), (0.0, 1.0, 0.0), length_mm=40.0)
    assert not model.path_crosses_canal((0.0, 5.0, 0.0), (0.0, -1.0, 0.0), length_mm=5.0)


def test_the_cord_runs_down_to_the_conus_and_must_fit_its_sac():
    assert Vertebra(level="T8").holds_the_cord and Vertebra(level="L1").holds_the_cord
    assert not Vertebra(level="L2").holds_the_cord
    with pytest.raises(ValueError, match="does not fit in the thecal sac"):
        Vertebra(level="T8", canal_width_mm=12.0, cord_diameter_mm=10.0)
    with pytest.raises(ValueError, match="T1-T12, L1-L5"):
        Vertebra(level="C5")


def test_the_shipped_tables_carry_their_sources():
    library = shipped_library()
    assert library.version == "1.1.0"
    for device in library.devices:
        assert device.source in library.sources
    assert morphometry.table().sources
    assert all(lv in morphometry.table().rows for lv in morphometry.MODELLED_LEVELS)


@pytest.mark.parametrize(
    "row, message",
    [
        ("x,,,,tripolar,,,,,,,,,,", "polarity"),
        ("x,,,,monopolar,-5,,,,,,,,,", "positive"),
        ("x,,,,monopolar,10,17.5,,,,,,,,", "ISO 9626"),
        ("x,,,,monopolar,10,,maybe,,,,,,,", "yes, no or empty"),
        ("x,,,,monopolar,10,,,,,,,,,unknown", "no header line"),
    ],
)
def test_a_bad_device_row_is_refused_with_its_reason(row, message):
    header = (
        "# name: site-devices\n# version: 1\n"
        "device_id,manufacturer,system,electrode,polarity,active_tip_mm,gauge,articulating,"
        "cooled,control_mode,target_temp_c,max_power_w,max_time_s,indications,source\n"
    )
    with pytest.raises(DeviceError, match=message):
        library_from_text(header + row + "\n")


SITE_GENERATOR = (
    "# name: site-devices\n# version: 1\n"
    "device_id,manufacturer,system,electrode,polarity,active_tip_mm,gauge,articulating,cooled,"
    "control_mode,target_temp_c,max_power_w,max_time_s,max_voltage_v,max_current_a,"
    "max_impedance_ohm,indications,source\n"
    "our-cannula,,our generator,our cannula,monopolar,10,17,no,no,temperature,90,50,360,"
    "{limits},spinal-metastasis; osteoid-osteoma,\n"
)


def test_a_device_with_documented_output_limits_plans_with_them():
    library = shipped_library().with_site_devices(
        list(library_from_text(SITE_GENERATOR.format(limits="60,0.6,1500")).devices)
    )
    options = default_options(L3_METASTASIS, library)
    options = PlanOptions(**{**options.to_dict(), "device_id": "our-cannula"})
    draft = draft_plan(L3_METASTASIS, options, library)
    generator = draft.scenario["generator"]
    assert (generator["max_voltage_v"], generator["max_current_a"]) == (60.0, 0.6)
    assert generator["max_impedance_ohm"] == 1500.0
    assert not any("output voltage" in note for note in draft.notes)


def test_a_plan_says_when_its_generator_has_no_documented_limits():
    draft = plan(L3_METASTASIS)
    assert "max_voltage_v" not in draft.scenario["generator"]
    assert any(
        "no source in the device library gives this generator's output voltage" in note
        for note in draft.notes
    )


@pytest.mark.parametrize("limits", ["-60,,", ",0,", ",,nan"])
def test_a_device_limit_that_is_not_a_positive_number_is_refused(limits):
    with pytest.raises(DeviceError):
        library_from_text(SITE_GENERATOR.format(limits=limits))


def _ball(grid_n, h, radius, centre=(0.0, 0.0, 0.0)):
    axis = (np.arange(grid_n) - (grid_n - 1) / 2) * h
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    return (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= radius**2


def test_coverage_of_concentric_spheres_gives_the_margin_between_them():
    h = 0.25
    lesion = _ball(81, h, 4.0)
    zone = _ball(81, h, 7.0)
    c = lesion_coverage(lesion, zone, h, h**3 * 1e-3)
    assert c.covered_share == 1.0
    # 3 mm between the spheres, measured on a 0.25 mm grid: within a voxel.
    assert c.smallest_margin_mm == pytest.approx(3.0, abs=h)
    assert c.lesion_ml == pytest.approx(4 / 3 * math.pi * 4.0**3 * 1e-3, rel=0.03)


def test_a_zone_that_misses_part_of_the_lesion_has_a_negative_margin():
    h = 0.25
    lesion = _ball(81, h, 4.0)
    zone = _ball(81, h, 4.0, centre=(2.0, 0.0, 0.0))
    c = lesion_coverage(lesion, zone, h, h**3 * 1e-3)
    assert 0.4 < c.covered_share < 0.8
    # The farthest untreated lesion tissue, at x = -4, is 2 mm from the shifted zone's edge.
    assert c.smallest_margin_mm == pytest.approx(-2.0, abs=h)
    assert lesion_coverage(np.zeros_like(lesion), zone, h, 1.0) is None


def test_grid_is_sized_to_the_vertebra():
    from thermablate.planning.presets import vertebra_grid

    g = vertebra_grid(Vertebra(), 0.5)
    assert g["extent_mm"] == [64.0, 70.0, 48.0] and g["origin_mm"] == [-32.0, -48.0, -24.0]
    Grid.from_extent_mm(g["extent_mm"], 0.5, g["origin_mm"])

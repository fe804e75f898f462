"""Anatomy builders: label volumes for the presets, and label volumes read from NIfTI files.

A builder takes a :class:`~thermablate.physics.grid.Grid` and parameters in millimetres and
returns a ``uint8`` label array whose values index ``TISSUE_ORDER``. Shapes are simple
primitives (cylinders, ellipsoids, capsules) sized from published anatomy; they are meant for
planning studies and teaching, not to replace a patient's segmented CT (use
:func:`labels_from_nifti` for that).

Dimensions
----------
[ZHO00] Zhou SH, McCarthy ID, McGregor AH, Coombs RR, Hughes SP. Geometrical dimensions of the
    lower lumbar vertebrae - analysis of data from digitised CT images. Eur Spine J
    2000;9(3):242-248. doi:10.1007/s005860000140 (L3-L5 body width ~45-50 mm, depth ~33-35 mm,
    height ~27 mm; canal ~15-17 x 22-24 mm; pedicle width ~9-15 mm).
[SIL94] The cortical shell of the vertebral body is thin,
    0.2-0.5 mm (Silva MJ, Wang C, Keaveny TM, Hayes WC. Direct and computed tomography
    thickness measurements of the human, lumbar vertebral shell and endplate. Bone
    1994;15(4):409-414. doi:10.1016/8756-3282(94)90817-6); the preset uses 1 mm by default so
    that the shell is resolved at 1 mm voxels, and the parameter can be lowered with the grid.
[FEI97] Femoral mid-shaft cortex 5-7 mm thick, outer diameter 25-30 mm
    (Feik SA, Thomas CD, Clement JG. Age-related changes in cortical porosity of the midshaft
    of the human femur. J Anat 1997;191:407-416. doi:10.1046/j.1469-7580.1997.19130407.x).
Osteoid osteoma nidus: usually under 15 mm, typically 5-10 mm (Irastorza et al. 2016,
doi:10.3109/02656736.2015.1135998, model a 10 mm nidus).
[SAI98] Saifuddin A, Burnett SJ, White J. The variation of position of the conus medullaris in
    an adult population: a magnetic resonance imaging study. Spine 1998;23(13):1452-1456.
    doi:10.1097/00007632-199807010-00005 (the conus ends at the lower third of L1 on average,
    T12 to L3 at the extremes): the preset puts the conus at L1 and the cauda equina below.
Epidural space: the anterior epidural space at the lumbar levels is thin (a venous plexus
between the posterior longitudinal ligament and the dura, ~1-2 mm), the posterior one wider
(epidural fat, ~3-6 mm); the dura is ~0.3-0.5 mm thick. These round figures are the preset's
defaults and are parameters: set them from the patient's imaging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from thermablate.physics.grid import Grid
from thermablate.physics.tissues import TISSUES, unknown_tissue

TISSUE_ORDER: tuple[str, ...] = tuple(TISSUES)
"""Label value -> tissue name for the preset builders (label = index)."""

L = {name: i for i, name in enumerate(TISSUE_ORDER)}

LUMBAR_LEVELS = ("L1", "L2", "L3", "L4", "L5")
VERTEBRA_LEVELS = tuple(f"T{n}" for n in range(1, 13)) + LUMBAR_LEVELS
"""Levels the vertebra model draws, cranial to caudal (see planning.morphometry for why the
cervical spine and the sacrum are not among them)."""

CONUS_LEVEL = "L1"
"""Where the preset puts the conus medullaris: the mean adult position [SAI98]."""

SIDE_SIGN: dict[str, float] = {"left": 1.0, "right": -1.0}
"""The patient's side -> the sign of x on that side, in the vertebra model.

The vertebra model's x axis runs towards the PATIENT's left (y anterior, z cranial), whichever
way the patient lies (prone, for a vertebral ablation) and whichever way an image shows them.
A plan's ``side`` is the patient's side of the pedicle the needle goes through; the pedicle,
the needle's entry and the exiting root on that side all lie at x of this sign, and the root
there is labelled ``NERVE_ROOT_OF_SIDE[side]``. (This is the model's own frame: not NIfTI's
RAS, whose x runs to the patient's right, so a segmented volume names its roots' sides in its
label table, never by the sign of x.)"""

NERVE_ROOT_OF_SIDE: dict[str, str] = {side: f"nerve-root-{side}" for side in SIDE_SIGN}
"""The patient's side -> the tissue of the exiting nerve root on that side (issue 14)."""


def _mm(grid: Grid):
    x, y, z = grid.centres_m()
    return x * 1e3, y * 1e3, z * 1e3


def _on_grid(labels_at, grid: Grid) -> np.ndarray:
    """A model's labels at the grid's cell centres, drawn as the grid's spacing asks."""
    lab = labels_at(*_mm(grid), spacing_mm=grid.spacing_mm)
    return np.ascontiguousarray(np.broadcast_to(lab, grid.shape))


def _capsule_distance(x, y, z, a, b, reach: float | None = None):
    """Distance from the points to the segment ``a``-``b`` [mm]; with ``reach``, points
    farther than that from the segment's bounding box get ``inf`` without the arithmetic (a
    cloud of points, most of them far from a pedicle or a root, costs a fraction)."""
    if reach is not None and np.ndim(x) == 1:
        low = np.minimum(a, b) - reach
        high = np.maximum(a, b) + reach
        box = (
            (x >= low[0]) & (x <= high[0]) & (y >= low[1]) & (y <= high[1])
            & (z >= low[2]) & (z <= high[2])
        )  # fmt: skip
        out = np.full(np.shape(x), np.inf)
        out[box] = _capsule_distance(x[box], y[box], z[box], a, b)
        return out
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    d = b - a
    length2 = float(d @ d)
    s = ((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / length2
    s = np.clip(s, 0.0, 1.0)
    return np.sqrt(
        (x - a[0] - s * d[0]) ** 2 + (y - a[1] - s * d[1]) ** 2 + (z - a[2] - s * d[2]) ** 2
    )


@dataclass(frozen=True)
class OsteoidOsteoma:
    """An intracortical osteoid osteoma in the diaphysis of a long bone.

    The bone runs along z; the nidus centre is the coordinate origin, ``nidus_depth_mm`` below
    the periosteal surface (default: a 2 mm cortical roof over the nidus); the skin side is +y.
    The default cortex is thickened, as reactive sclerosis around a nidus makes it. [mm]
    """

    nidus_diameter_mm: float = 8.0
    nidus_tissue: str = "tumour-lytic"
    reactive_zone_mm: float = 0.0
    reactive_zone_tissue: str = "tumour-sclerotic"
    bone_outer_radius_mm: float = 14.0
    cortical_thickness_mm: float = 10.0
    nidus_depth_mm: float | None = None
    marrow_tissue: str = "fat"  # yellow marrow of the diaphysis, fat-like

    @property
    def depth_mm(self) -> float:
        return (
            self.nidus_depth_mm
            if self.nidus_depth_mm is not None
            else 0.5 * self.nidus_diameter_mm + 2.0
        )

    @property
    def bone_axis_y_mm(self) -> float:
        return -(self.bone_outer_radius_mm - self.depth_mm)

    def labels(self, grid: Grid) -> np.ndarray:
        return _on_grid(self.labels_at, grid)

    def labels_at(self, x, y, z, spacing_mm: float = 0.0) -> np.ndarray:
        """Labels at points (mm, broadcastable arrays) from the exact shapes; no layer here
        depends on the grid, so ``spacing_mm`` is unused."""
        lab = np.full(
            np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z)), L["muscle"], np.uint8
        )
        rb = np.sqrt(x**2 + (y - self.bone_axis_y_mm) ** 2) + 0 * z
        lab[rb <= self.bone_outer_radius_mm] = L["cortical-bone"]
        lab[rb <= self.bone_outer_radius_mm - self.cortical_thickness_mm] = L[self.marrow_tissue]
        r = np.sqrt(x**2 + y**2 + z**2)
        rn = 0.5 * self.nidus_diameter_mm
        if self.reactive_zone_mm > 0:
            lab[r <= rn + self.reactive_zone_mm] = L[self.reactive_zone_tissue]
        lab[r <= rn] = L[self.nidus_tissue]
        return lab


@dataclass(frozen=True)
class Vertebra:
    """A thoracic or lumbar vertebra with a metastasis, in patient coordinates centred on the
    body. The defaults are round lumbar figures [ZHO00]; ``planning.morphometry`` gives the
    published dimensions of each level.

    x: the patient's left(+)/right(-) (:data:`SIDE_SIGN`), y: anterior(+)/posterior(-),
    z: cranial(+)/caudal(-). [mm]
    ``posterior_wall_distance_mm`` is the bone between the tumour's edge and the posterior
    cortex (0: the tumour touches the wall). ``side`` is the patient's side of the pedicle the
    transpedicular needle goes through; ``tumour_lateral_mm`` moves the tumour towards the
    patient's left (negative: right).

    The canal holds the epidural space (fat), the thecal sac (dura around CSF) and, at
    ``level`` T1-L1, the spinal cord (ending in the conus at L1), or below it the cauda equina
    [SAI98]. An exiting nerve root leaves each foramen, the patient's left and right ones
    labelled apart so that each is judged on its own. The cord is an ellipse
    ``cord_diameter_mm`` wide and ``cord_depth_mm`` deep (default: round), centred in the sac.
    The
    patient lies prone for a vertebral ablation and the roots of the cauda equina settle to the
    dependent, anterior side of the sac, towards the vertebral body: the bundle is drawn
    ``anterior_csf_mm`` behind the anterior dura, the conservative choice. The dura is drawn
    at least one voxel thick so that it is always judged: on a grid coarser than the dura it
    grows outwards, into the epidural fat, so that the CSF and the cauda equina (or cord) keep
    their places at every grid, and the dura, drawn nearer the heat, errs on the hot side.
    (Until issue 13's grid-error measurements it grew inwards, which moved the CSF and the
    cauda equina back by the spacing less the dura's thickness: from 0.5 to 0.75 mm, 0.25 mm,
    which was most of the lumbar preset's estimated grid error in their peaks, 2.5 and 1.3 K,
    against 0.3 and 0.8 K now; docs/thermal-engine.md, "Grid error".)
    """

    body_width_mm: float = 45.0
    body_depth_mm: float = 32.0
    body_height_mm: float = 27.0
    disc_height_mm: float = 10.0
    cortical_shell_mm: float = 1.0
    canal_width_mm: float = 22.0
    canal_depth_mm: float = 16.0
    cord_diameter_mm: float = 8.0
    cord_depth_mm: float | None = None
    lamina_thickness_mm: float = 5.0
    pedicle_diameter_mm: float = 9.0
    nerve_root_diameter_mm: float = 5.0
    tumour_diameter_mm: float = 15.0
    tumour_type: str = "lytic"
    posterior_wall_distance_mm: float = 4.0
    tumour_lateral_mm: float = 0.0
    tumour_cranial_mm: float = 0.0
    side: str = field(default="left")
    level: str = "L3"
    epidural_anterior_mm: float = 1.5
    epidural_posterior_mm: float = 4.0
    epidural_lateral_mm: float = 2.0
    dura_thickness_mm: float = 0.4
    cauda_equina_diameter_mm: float = 6.0
    anterior_csf_mm: float = 1.0

    def __post_init__(self):
        if self.level not in VERTEBRA_LEVELS:
            raise ValueError(f"level must be one of T1-T12, L1-L5, got {self.level!r}")
        if self.side not in SIDE_SIGN:
            # Anything but "left" used to be drawn, silently, as a right-sided approach.
            raise ValueError(
                f"side must be 'left' or 'right' (the patient's side of the approach), "
                f"got {self.side!r}"
            )
        layers = ("epidural_anterior_mm", "epidural_posterior_mm", "epidural_lateral_mm",
                  "dura_thickness_mm", "cauda_equina_diameter_mm", "anterior_csf_mm")  # fmt: skip
        for name in layers:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number of mm, got {value!r}")
            if not (0 <= value < math.inf):
                raise ValueError(f"{name} must be a finite number of mm, not negative")
        _, _, half_width, half_depth = self.thecal_sac_mm
        room = 2 * half_depth - 2 * self.dura_thickness_mm
        if min(half_width, half_depth) <= self.dura_thickness_mm or (
            not self.holds_the_cord and room < self.anterior_csf_mm + self.cauda_equina_diameter_mm
        ):
            raise ValueError(
                "the thecal sac left inside the epidural space has no room for its contents: "
                "reduce the epidural space, the dura or the cauda equina"
            )
        cord_room = (half_width - self.dura_thickness_mm, half_depth - self.dura_thickness_mm)
        if self.holds_the_cord and (
            0.5 * self.cord_diameter_mm > cord_room[0] or 0.5 * self.cord_depth > cord_room[1]
        ):
            raise ValueError(
                f"a {self.cord_diameter_mm:g} x {self.cord_depth:g} mm cord does not fit in the "
                f"thecal sac left inside the epidural space at {self.level}"
            )

    @property
    def holds_the_cord(self) -> bool:
        """True down to the conus's level [SAI98]; below it the canal holds the cauda equina."""
        return VERTEBRA_LEVELS.index(self.level) <= VERTEBRA_LEVELS.index(CONUS_LEVEL)

    @property
    def cord_depth(self) -> float:
        """Anteroposterior diameter of the cord. [mm]"""
        return self.cord_diameter_mm if self.cord_depth_mm is None else self.cord_depth_mm

    @property
    def thecal_sac_mm(self) -> tuple[float, float, float, float]:
        """Centre (x, y) and half-width, half-depth of the thecal sac's outer (dural) surface."""
        cx, cy = self.canal_centre_mm
        cw, cd = 0.5 * self.canal_width_mm, 0.5 * self.canal_depth_mm
        front = cy + cd - self.epidural_anterior_mm
        back = cy - cd + self.epidural_posterior_mm
        return cx, 0.5 * (front + back), cw - self.epidural_lateral_mm, 0.5 * (front - back)

    def neural_centre_mm(self) -> tuple[float, float]:
        """Centre (x, y) of the cord (at L1, centred in the sac) or the cauda equina (against
        the anterior dura, prone), the same at every grid. [mm]"""
        sx, sy, _, sd = self.thecal_sac_mm
        if self.holds_the_cord:
            return sx, sy
        front = sy + sd - self.dura_thickness_mm - self.anterior_csf_mm
        return sx, front - 0.5 * self.cauda_equina_diameter_mm

    @property
    def posterior_wall_y_mm(self) -> float:
        return -0.5 * self.body_depth_mm

    @property
    def tumour_centre_mm(self) -> tuple[float, float, float]:
        y = (
            self.posterior_wall_y_mm
            + self.posterior_wall_distance_mm
            + 0.5 * self.tumour_diameter_mm
        )
        return (self.tumour_lateral_mm, y, self.tumour_cranial_mm)

    @property
    def canal_centre_mm(self) -> tuple[float, float]:
        return (0.0, self.posterior_wall_y_mm - 0.5 * self.canal_depth_mm)

    def pedicle_axis_mm(self, sign: float):
        """Posterior and anterior end of a pedicle's axis (converging medially); ``sign`` is
        the side's :data:`SIDE_SIGN`."""
        zc = 0.1 * self.body_height_mm
        half_canal = 0.5 * self.canal_width_mm
        r = 0.5 * self.pedicle_diameter_mm
        yw = self.posterior_wall_y_mm
        posterior = (sign * (half_canal + r + 1.5), yw - self.canal_depth_mm - 2.0, zc)
        anterior = (sign * (half_canal - 1.0), yw + 3.0, zc)
        return posterior, anterior

    def nerve_root_axis_mm(self, sign: float):
        """Exiting nerve root: from the lateral recess, below the pedicle, out of the foramen;
        ``sign`` is the side's :data:`SIDE_SIGN`."""
        cx, cy = self.canal_centre_mm
        z0 = (
            0.1 * self.body_height_mm
            - 0.5 * self.pedicle_diameter_mm
            - 0.5 * self.nerve_root_diameter_mm
            - 1.0
        )
        start = (sign * 0.35 * self.canal_width_mm, cy + 2.0, z0)
        end = (sign * (0.5 * self.canal_width_mm + 30.0), cy + 12.0, z0 - 12.0)
        return start, end

    def in_canal(self, points_mm: np.ndarray) -> np.ndarray:
        """Which of the points (N x 3, mm) lie in the spinal canal (it runs along z)."""
        cx, cy = self.canal_centre_mm
        x, y = points_mm[:, 0], points_mm[:, 1]
        return ((x - cx) / (0.5 * self.canal_width_mm)) ** 2 + (
            (y - cy) / (0.5 * self.canal_depth_mm)
        ) ** 2 <= 1

    def path_crosses_canal(self, tip_mm, direction, length_mm: float) -> bool:
        """Whether a straight needle whose tip is at ``tip_mm``, pointing along ``direction``,
        passes through the canal within ``length_mm`` of its tip (sampled every 0.1 mm)."""
        d = np.asarray(direction, float)
        d /= np.linalg.norm(d)
        s = np.arange(0.0, length_mm, 0.1)[:, None]
        return bool(self.in_canal(np.asarray(tip_mm, float) - s * d).any())

    def in_bone_or_tumour(self, point_mm) -> bool:
        """Whether a point (mm) lies in the vertebral body, a pedicle or the tumour."""
        x, y, z = (float(v) for v in point_mm)
        ax, ay = 0.5 * self.body_width_mm, 0.5 * self.body_depth_mm
        if (x / ax) ** 2 + (y / ay) ** 2 <= 1 and abs(z) <= 0.5 * self.body_height_mm:
            return True
        tc = self.tumour_centre_mm
        if (
            sum((a - b) ** 2 for a, b in zip((x, y, z), tc, strict=True))
            <= (0.5 * self.tumour_diameter_mm) ** 2
        ):
            return True
        for sign in SIDE_SIGN.values():
            p, a = self.pedicle_axis_mm(sign)
            d = _capsule_distance(np.array(x), np.array(y), np.array(z), p, a)
            if float(d) <= 0.5 * self.pedicle_diameter_mm:
                return True
        return False

    def labels(self, grid: Grid) -> np.ndarray:
        return _on_grid(self.labels_at, grid)

    def labels_at(self, x, y, z, spacing_mm: float = 0.0) -> np.ndarray:
        """Labels at points (mm, broadcastable arrays). ``spacing_mm`` is the grid's: the dura
        is drawn at least that thick (see the class docstring); 0 gives the exact shapes, at
        which :func:`thermablate.physics.true_surface` reads the neural structures' peaks."""
        lab = np.full(
            np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z)), L["muscle"], np.uint8
        )
        ax, ay = 0.5 * self.body_width_mm, 0.5 * self.body_depth_mm
        hz = 0.5 * self.body_height_mm
        ell = (x / ax) ** 2 + (y / ay) ** 2 + 0 * z
        # Discs above and below the body.
        in_disc = (ell <= 1) & (np.abs(z) > hz) & (np.abs(z) <= hz + self.disc_height_mm)
        lab[in_disc] = L["intervertebral-disc"]
        # Vertebral body: cortical shell (sides and end plates) around cancellous bone.
        body = (ell <= 1) & (np.abs(z) <= hz)
        s = self.cortical_shell_mm
        inner = ((x / (ax - s)) ** 2 + (y / (ay - s)) ** 2 <= 1) & (np.abs(z) <= hz - s)
        lab[body] = L["cortical-bone"]
        lab[inner] = L["cancellous-bone"]
        # Posterior arch (lamina) around the canal, at the level of the body.
        cx, cy = self.canal_centre_mm
        cw, cd = 0.5 * self.canal_width_mm, 0.5 * self.canal_depth_mm
        t = self.lamina_thickness_mm
        canal = ((x - cx) / cw) ** 2 + ((y - cy) / cd) ** 2 <= 1
        arch = (
            (((x - cx) / (cw + t)) ** 2 + ((y - cy) / (cd + t)) ** 2 <= 1)
            & (y < cy)
            & (np.abs(z) <= hz)
        )
        lab[arch] = L["cortical-bone"]
        # Pedicles: cortical tubes with a cancellous core.
        for sign in SIDE_SIGN.values():
            p, a = self.pedicle_axis_mm(sign)
            r = 0.5 * self.pedicle_diameter_mm
            d = _capsule_distance(x, y, z, p, a, reach=r)
            lab[d <= r] = L["cortical-bone"]
            lab[(d <= r - 1.5) & ~inner] = L["cancellous-bone"]
        # Spinal canal along the whole domain: epidural fat, the dural sac, CSF, then the cord
        # or the cauda equina.
        along = np.ones_like(z, dtype=bool)
        canal = canal & along
        lab[canal] = L["epidural-fat"]
        sx, sy, sw, sd = self.thecal_sac_mm
        # At least one voxel of dura, grown outwards (see the class docstring).
        out = max(self.dura_thickness_mm, spacing_mm) - self.dura_thickness_mm
        lab[(((x - sx) / (sw + out)) ** 2 + ((y - sy) / (sd + out)) ** 2 <= 1) & along] = L["dura"]
        dura = self.dura_thickness_mm
        inner = ((x - sx) / (sw - dura)) ** 2 + ((y - sy) / (sd - dura)) ** 2 <= 1
        lab[inner & along] = L["csf"]
        nx_, ny_ = self.neural_centre_mm()
        if self.holds_the_cord:
            rx, ry, neural = 0.5 * self.cord_diameter_mm, 0.5 * self.cord_depth, "spinal-cord"
        else:
            rx = ry = 0.5 * self.cauda_equina_diameter_mm
            neural = "cauda-equina"
        lab[(((x - nx_) / rx) ** 2 + ((y - ny_) / ry) ** 2 <= 1) & along] = L[neural]
        # Exiting nerve roots in foraminal fat, each labelled with the patient's side it is on.
        for side, sign in SIDE_SIGN.items():
            a, b = self.nerve_root_axis_mm(sign)
            d = _capsule_distance(x, y, z, a, b, reach=0.5 * self.nerve_root_diameter_mm + 1.5)
            outside_canal = ~canal
            lab[
                (d <= 0.5 * self.nerve_root_diameter_mm + 1.5)
                & outside_canal
                & (lab == L["muscle"])
            ] = L["fat"]
            lab[d <= 0.5 * self.nerve_root_diameter_mm] = L[NERVE_ROOT_OF_SIDE[side]]
        # Tumour last: it replaces whatever bone it destroys.
        tc = self.tumour_centre_mm
        r2 = (x - tc[0]) ** 2 + (y - tc[1]) ** 2 + (z - tc[2]) ** 2
        lab[r2 <= (0.5 * self.tumour_diameter_mm) ** 2] = L[f"tumour-{self.tumour_type}"]
        return lab


def uniform_labels(grid: Grid, tissue: str) -> np.ndarray:
    return np.full(grid.shape, L[tissue], np.uint8)


class NiftiError(ValueError):
    pass


def labels_from_nifti(path: Path, label_table: dict[int, str]):
    """Read a segmented label volume.

    Parameters
    ----------
    path : Path
        NIfTI file (``.nii`` or ``.nii.gz``) of integer labels; the voxel grid must be axis
        aligned with isotropic spacing (resample beforehand otherwise).
    label_table : dict
        File label value -> tissue name. Every label present must be in the table.

    Returns
    -------
    (Grid, labels) with labels indexing ``TISSUE_ORDER``.
    """
    import nibabel as nib

    img = nib.load(str(path))
    data = np.asarray(img.dataobj)
    if data.ndim != 3:
        raise NiftiError(f"{path}: expected a 3-D label volume, got {data.ndim} dimensions")
    affine = img.affine
    lin = affine[:3, :3]
    if not np.allclose(lin, np.diag(np.diag(lin)), atol=1e-6):
        raise NiftiError(f"{path}: the volume is oblique; resample it to an axis-aligned grid")
    spacing = np.abs(np.diag(lin))
    if not np.allclose(spacing, spacing[0], rtol=1e-3):
        raise NiftiError(f"{path}: voxel spacing {tuple(spacing)} mm is not isotropic; resample it")
    # Flip axes with negative spacing so that indices increase with coordinates.
    flips = [a for a in range(3) if lin[a, a] < 0]
    origin_centre = affine[:3, 3].copy()
    for a in flips:
        origin_centre[a] = affine[a, 3] + lin[a, a] * (data.shape[a] - 1)
    data = np.flip(data, axis=flips) if flips else data
    h = float(spacing[0])
    grid = Grid(
        tuple(int(n) for n in data.shape), h * 1e-3, tuple((origin_centre - 0.5 * h) * 1e-3)
    )
    values = np.unique(data)
    missing = [int(v) for v in values if int(v) not in label_table]
    if missing:
        raise NiftiError(f"{path}: labels {missing} are not in the label-to-tissue table")
    lut = np.zeros(int(values.max()) + 1, np.uint8)
    for v, name in label_table.items():
        if name not in L:
            raise NiftiError(f"label {v}: {unknown_tissue(name)}")
        if 0 <= v < len(lut):
            lut[v] = L[name]
    return grid, lut[data.astype(np.int64)]

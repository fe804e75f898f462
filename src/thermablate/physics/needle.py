"""Heat conduction along the metal needle: a one-dimensional sub-grid model, stepped implicitly.

A stainless-steel needle conducts heat about 30 times better than tissue. Along a
transpedicular path it carries heat from the active tip back along the shaft, past the exiting
nerve root: Groetz et al. (Eur Spine J 2013) measured 46.4 ± 2.5 °C in the neural foramen with
a 10 mm probe, where a model whose needle takes the tissue's properties predicts 38-40 °C.

The needle is far thinner than the grid can resolve as a conductor of its own, and steel's
diffusivity (~4e-6 m^2/s, 30 times tissue's) would force an explicit step 30 times shorter.
So the needle is modelled as a chain of nodes along its axis: each active contact is one node
(it is isothermal already: see ``engine.Simulation``) and the shaft is cut into nodes one voxel
long. Each node is isothermal across the needle's cross-section (radial conduction in steel is
instantaneous on this scale); neighbouring nodes exchange heat through the steel,
``G = k_steel A / distance``; the last shaft node, where the needle leaves the domain, loses heat
to the body-temperature boundary in the same way. After each explicit step of the tissue, the
chain is advanced by one backward-Euler step of its own (a tridiagonal solve on a hundred
nodes or so): unconditionally stable, energy conserving (the heat leaving through the boundary
is returned for the energy balance), and a node's new temperature stays between its
neighbours' (an M-matrix). The coupling to the tissue is the grid's own: the needle's voxels
exchange heat with their neighbours through the bioheat step.

Simplifications, stated: the needle is taken as solid steel of its full outer diameter (an RF
probe inside a cannula fills most of it; a solid rod conducts the most, the cautious side for
structures along the shaft); the thin polymer insulation of the shaft is not a thermal
resistance here (which also lets the most heat out, the cautious side); the insulating gap of
a bipolar needle does not conduct, so its two contacts are not linked through the steel.

References
----------
[INC07] Incropera FP, DeWitt DP, Bergman TL, Lavine AS. Fundamentals of Heat and Mass
    Transfer, 6th ed. Wiley 2007, Table A.1: AISI 304 stainless steel, k = 14.9 W/(m K) at
    300 K and 16.6 W/(m K) at 400 K.
[GRO13] Groetz SF, Birnbaum K, Meyer C, Strunk H, Schild HH, Wilhelm KE. Thermometry during
    coblation and radiofrequency ablation of vertebral metastases: a cadaver study.
    Eur Spine J 2013;22(6):1389-1393. doi:10.1007/s00586-012-2647-7 (cadaveric vertebrae,
    10 mm single-needle electrode in a muscle-filled lytic cavity)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from thermablate.physics.grid import Grid

STEEL_THERMAL_CONDUCTIVITY_W_MK = 16.0
"""Thermal conductivity of the needle's stainless steel between 37 and 100 °C [INC07]. [W/(m K)]"""


@dataclass
class NodeChain:
    """Isothermal groups of cells (contacts and shaft nodes) and the steel links between them.

    ``cells`` are padded-array indices (n, 3); node ``c`` owns ``cells[starts[c]:starts[c+1]]``
    with heat-capacity weights ``weights`` (summing to 1 per node). ``heat_capacity_j_k[c]`` is
    the node's heat capacity, ``link_w_k[c]`` the conductance between nodes ``c`` and ``c + 1``
    (0 where they are not linked), ``boundary_w_k[c]`` the conductance to the domain boundary.

    The tissue cells beside a contact across embedded faces (``physics/embedded.py``) are
    coupled to its node implicitly: ``coupled_cells`` (padded indices), the node each is
    coupled to (``coupled_node``), its conductance to it (``coupled_w_k``, all its embedded
    faces) and its heat capacity (``coupled_capacity_j_k``).
    """

    cells: np.ndarray
    weights: np.ndarray
    starts: np.ndarray
    heat_capacity_j_k: np.ndarray
    link_w_k: np.ndarray
    boundary_w_k: np.ndarray
    coupled_cells: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.intp))
    coupled_node: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))
    coupled_w_k: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coupled_capacity_j_k: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def n_nodes(self) -> int:
        return self.starts.size - 1

    def arrays(self) -> tuple:
        """The arrays :func:`conduct` takes after the temperatures, in its order."""
        return (
            self.cells, self.weights, self.starts, self.heat_capacity_j_k, self.link_w_k,
            self.boundary_w_k, self.coupled_cells, self.coupled_node, self.coupled_w_k,
            self.coupled_capacity_j_k,
        )  # fmt: skip


def build_chain(
    grid: Grid,
    contacts: list[np.ndarray],
    shafts: list[tuple[int, np.ndarray, np.ndarray, float]],
    rhoc_j_m3k: np.ndarray,
    coupled: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> NodeChain:
    """Nodes and links from the contacts and the needles' shafts.

    Parameters
    ----------
    contacts : list of bool arrays
        One mask per isothermal contact (every active part of every electrode).
    shafts : list of (contact index, shaft mask, axial coordinate of every cell [m], area [m^2])
        For each needle: the contact its shaft joins (its proximal contact), the shaft's cells,
        the distance of every cell centre behind the proximal contact's end, and the steel's
        cross-section.
    rhoc_j_m3k : array
        Volumetric heat capacity of every cell. [J/(m^3 K)]
    coupled : (cells (p, 3), conductance per unit volume (p,) [W/(m^3 K)], contact index (p,))
        Tissue cells joined to a contact by embedded faces (``physics/embedded.py``).
    """
    h = grid.spacing_m
    volume = grid.cell_volume_m3
    shaft_of = {}
    for contact, shaft, s_m, area_m2 in shafts:
        idx, s = np.argwhere(shaft), s_m[shaft]
        bins = np.floor(np.maximum(s, 0.0) / h).astype(int)
        nodes = [(idx[bins == b], float(s[bins == b].mean())) for b in np.unique(bins)]
        shaft_of[contact] = (STEEL_THERMAL_CONDUCTIVITY_W_MK * area_m2, nodes)
    # Shaft nodes follow their contact in the node order, so that every link is between
    # consecutive nodes and the system is tridiagonal.
    out_groups, out_links, out_boundary = [], [], []
    node_of_contact = []
    for c, mask in enumerate(contacts):
        node_of_contact.append(len(out_groups))
        out_groups.append(np.argwhere(mask))
        out_links.append(0.0)
        out_boundary.append(0.0)
        if c not in shaft_of:
            continue
        g, nodes = shaft_of[c]
        previous_s = 0.0  # the contact is isothermal: its resistance ends at its proximal end
        for members, s_mean in nodes:
            out_links[-1] = g / max(s_mean - previous_s, 0.5 * h)
            out_groups.append(members)
            out_links.append(0.0)
            out_boundary.append(0.0)
            previous_s = s_mean
        # The shaft leaves the domain half a voxel beyond its last node, into tissue that the
        # boundary condition holds at body temperature.
        out_boundary[-1] = g / (0.5 * h)
    cells = np.concatenate(out_groups) if out_groups else np.zeros((0, 3), np.intp)
    counts = [len(m) for m in out_groups]
    starts = np.cumsum([0] + counts).astype(np.intp)
    weights = np.zeros(len(cells))
    capacity = np.zeros(len(out_groups))
    for c, members in enumerate(out_groups):
        rhoc = rhoc_j_m3k[tuple(members.T)]
        capacity[c] = rhoc.sum() * volume
        weights[starts[c] : starts[c + 1]] = rhoc / rhoc.sum()
    chain = NodeChain(
        np.ascontiguousarray(cells + 1, dtype=np.intp), weights, starts, capacity,
        np.asarray(out_links, float), np.asarray(out_boundary, float),
    )  # fmt: skip
    if coupled is not None and len(coupled[0]):
        tissue, g_w_m3k, contact = coupled
        chain.coupled_cells = np.ascontiguousarray(tissue + 1, dtype=np.intp)
        chain.coupled_node = np.asarray(node_of_contact, np.intp)[contact]
        chain.coupled_w_k = np.asarray(g_w_m3k, float) * volume
        chain.coupled_capacity_j_k = rhoc_j_m3k[tuple(tissue.T)] * volume
    return chain


@numba.njit(cache=True, nogil=True)
def conduct(t_pad_c, t_max_c, cells, weights, starts, heat_capacity_j_k, link_w_k, boundary_w_k,
            coupled_cells, coupled_node, coupled_w_k, coupled_capacity_j_k, t_boundary_c,
            dt_s):  # fmt: skip
    """One backward-Euler step of the node chain; every node's cells take its new temperature.

    Returns the heat that left through the boundary links during the step. [J]
    Without links this is the heat-capacity-weighted averaging of each contact. ``t_max_c``
    (interior shape) is the running maximum of every cell, kept for the coupled tissue cells.

    The tissue cells coupled to a node across embedded faces (conductance ``G``, heat capacity
    ``C_i``, explicit update ``T_i*``) are stepped implicitly with it: eliminating
    ``T_i = (T_i* + (dt G / C_i) T_node) / (1 + dt G / C_i)`` leaves the node one more
    conductance ``a = G / (1 + dt G / C_i)`` to ``T_i*``, so the system stays tridiagonal, and
    what the node gives the cell is exactly what the cell receives.
    """
    n = starts.size - 1
    if n == 0:
        return 0.0
    mean = np.zeros(n)
    for c in range(n):
        for k in range(starts[c], starts[c + 1]):
            mean[c] += weights[k] * t_pad_c[cells[k, 0], cells[k, 1], cells[k, 2]]
    # Tridiagonal system (C/dt + G_left + G_right + G_boundary) T - G T_neighbours = rhs,
    # solved by the Thomas algorithm (diagonally dominant: no pivoting needed).
    diag = np.empty(n)
    rhs = np.empty(n)
    for c in range(n):
        left = link_w_k[c - 1] if c > 0 else 0.0
        diag[c] = heat_capacity_j_k[c] / dt_s + left + link_w_k[c] + boundary_w_k[c]
        rhs[c] = heat_capacity_j_k[c] / dt_s * mean[c] + boundary_w_k[c] * t_boundary_c
    m_coupled = coupled_node.size
    ratio = np.empty(m_coupled)
    for p in range(m_coupled):
        ratio[p] = dt_s * coupled_w_k[p] / coupled_capacity_j_k[p]
        a = coupled_w_k[p] / (1.0 + ratio[p])
        c = coupled_node[p]
        diag[c] += a
        rhs[c] += a * t_pad_c[coupled_cells[p, 0], coupled_cells[p, 1], coupled_cells[p, 2]]
    for c in range(1, n):
        m = -link_w_k[c - 1] / diag[c - 1]
        diag[c] -= m * -link_w_k[c - 1]
        rhs[c] -= m * rhs[c - 1]
    new = np.empty(n)
    new[n - 1] = rhs[n - 1] / diag[n - 1]
    for c in range(n - 2, -1, -1):
        new[c] = (rhs[c] + link_w_k[c] * new[c + 1]) / diag[c]
    for p in range(m_coupled):
        i, j, k = coupled_cells[p, 0], coupled_cells[p, 1], coupled_cells[p, 2]
        t = (t_pad_c[i, j, k] + ratio[p] * new[coupled_node[p]]) / (1.0 + ratio[p])
        t_pad_c[i, j, k] = t
        t_max_c[i - 1, j - 1, k - 1] = max(t_max_c[i - 1, j - 1, k - 1], t)
    lost = 0.0
    for c in range(n):
        lost += boundary_w_k[c] * (new[c] - t_boundary_c) * dt_s
        for k in range(starts[c], starts[c + 1]):
            t_pad_c[cells[k, 0], cells[k, 1], cells[k, 2]] = new[c]
    return lost

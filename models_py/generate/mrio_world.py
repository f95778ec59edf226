"""Economics of the CEADs-style city multi-regional input-output tables.

The world has n cities and S sectors (N = n x S region-sectors, region-major as in CEADs).

- Technical coefficients ``A`` (domestic, N x N): buyer city j's sector s uses
  ``a_j[r, s]`` of sector r per unit of output (column sums 0.50-0.68), sourced locally with
  share ``LOCAL_INPUT_SHARE`` (0.80-0.93 by city and sector) and from the K largest gravity
  partners of j otherwise, in proportion to ``GDP_k^0.9 * capacity[k, r] / distance^1.6``.
  Intra-city blocks are dense and strong, inter-city blocks gravity-filled and zero beyond the
  K partners. Coefficients drift a little between table years.
- Final demand ``Y`` (N x n, consuming city in columns) = own-city demand (share
  ``OWN_FINAL_SHARE``, 0.40-0.60, of the city's final demand) plus purchases from every other
  city j by gravity (``GDP_j^0.9 / distance^1.2``), with j's goods in the proportions of j's
  export basket. The sector classes take ``CLASS_FINAL_SHARES`` of final demand. Final demand
  is split into the five CEADs categories FU101..FU202 (inventory changes of either sign).
- A few region-sectors have zero gross output in every year: their rows and columns of A,
  their final demand, exports and errors are zero.

Planted transfers: for the sector classes c (labor, capital, technology, unclassified) the
output of city j's class-c sectors driven by city i's final demand,
``G[(j, c), i] = sum_{s in c} [(I - A)^-1 Y][(j, s), i]``, is set exactly to a target by
adjusting i's final purchases of j's class-c goods (``Y = Y_base + W delta`` with W spreading a
class-level adjustment over j's sectors by its export basket, and delta solving the class-level
system ``C (I - A)^-1 W delta = target - C (I - A)^-1 Y_base``). For i != j the target is the
2012 level plus the cumulated planted transfers, so that the change of G between table years is
exactly the planted transfer; own-city entries (i = j) follow the economy's growth. Where a
target would need negative purchases the purchase is clipped at zero (a handful of the
n x 4 x (n - 1) class purchases in 2017; counted in ``PlantedMrio.clipped_cells``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import lu_factor, lu_solve

CLASSES = ("labor", "capital", "technology", "unclassified")

# Sectors of China's 42-sector IO table whose output goes mainly to intermediate use (mining,
# refining, chemicals, building materials, metals, scrap, repair).
INTERMEDIATE_GOODS = frozenset({"02", "03", "04", "05", "11", "12", "13", "14", "23", "24"})
# Extraction sectors that many cities do not have at all.
EXTRACTION = ("02", "03", "04")

EARTH_RADIUS_KM = 6371.0088
OWN_FINAL_SHARE = (0.40, 0.60)
# Shares of the sector classes (labor, capital, technology, unclassified) in final demand.
CLASS_FINAL_SHARES = np.array([0.30, 0.25, 0.20, 0.25])
LOCAL_INPUT_SHARE = (0.80, 0.93)


def great_circle_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Pairwise great-circle distances (km) between points given in degrees."""
    lo, la = np.radians(lon), np.radians(lat)
    dlo = lo[:, None] - lo[None, :]
    dla = la[:, None] - la[None, :]
    h = np.sin(dla / 2) ** 2 + np.cos(la[:, None]) * np.cos(la[None, :]) * np.sin(dlo / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass
class PlantedMrio:
    """One year's table: coefficients, final use by category, tail columns and inputs."""

    year: int
    A: np.ndarray            # N x N domestic technical coefficients
    final_use: np.ndarray    # N x n x 5 (FU101, FU102, FU103, FU201, FU202)
    exports: np.ndarray      # N
    errors: np.ndarray       # N
    gross_output: np.ndarray  # N
    imports: np.ndarray      # N, imported intermediate inputs per column
    value_added: np.ndarray  # N x 4 (VA001..VA004) per column
    class_output: np.ndarray = field(repr=False)  # n x 4 x n: G[(j, c), i] of the module doc
    max_target_error: float = 0.0  # largest |G - target| relative to the largest |G|
    clipped_cells: int = 0   # class-level purchases that had to be clipped at zero

    def intermediate(self) -> np.ndarray:
        """Z = A diag(x), computed in place on A (A is not needed afterwards)."""
        self.A *= self.gross_output[None, :]
        return self.A


class MrioWorld:
    """The time-invariant structure of the economy and the per-year table builder."""

    def __init__(self, city_ids, sector_codes, sector_class, lon, lat, east, gdp, gdppc,
                 seed: int, n_partners: int = 30):
        """``gdp`` and ``gdppc`` map a table year to a per-city array (万元 and 元)."""
        rng = np.random.default_rng([seed, 31])
        self.city_ids = list(city_ids)
        self.sector_codes = list(sector_codes)
        self.n, self.S = n, S = len(city_ids), len(sector_codes)
        self.N = n * S
        self.seed = seed
        self.gdp, self.gdppc = gdp, gdppc
        self.sector_class = np.asarray(sector_class)
        self.class_onehot = np.zeros((S, len(CLASSES)))
        self.class_onehot[np.arange(S), self.sector_class] = 1.0
        self.dist = great_circle_km(np.asarray(lon, float), np.asarray(lat, float))
        off = ~np.eye(n, dtype=bool)

        # sector templates and city capacities
        intermediate = np.array([c in INTERMEDIATE_GOODS for c in sector_codes])
        fd_mix = rng.lognormal(0.0, 0.6, S) * np.where(intermediate, 0.3, 1.0)
        class_sum = fd_mix @ self.class_onehot
        present = class_sum > 0
        target = np.where(present, CLASS_FINAL_SHARES, 0.0)
        target /= target.sum()
        fd_mix *= (target / np.where(present, class_sum, 1.0))[self.sector_class]
        self.fd_mix = fd_mix / fd_mix.sum()
        rich = np.asarray(gdppc[min(gdppc)], float)
        rich = rich / np.median(rich)
        cap = rng.lognormal(0.0, 0.6, (n, S))
        cap *= np.where(self.sector_class == 2, rich[:, None] ** 0.8, 1.0)
        cap *= np.where(self.sector_class == 0, rich[:, None] ** -0.3, 1.0)
        self.zero_cells = self._pick_zero_cells(rng)
        cap[self.zero_cells] = 0.0
        self.capacity = cap

        own_mix = self.fd_mix * rng.lognormal(0.0, 0.3, (n, S))
        own_mix[self.zero_cells] = 0.0
        self.own_mix = own_mix / own_mix.sum(axis=1, keepdims=True)
        basket = self.fd_mix * cap
        self.basket = basket / basket.sum(axis=1, keepdims=True)
        self.own_share = rng.uniform(*OWN_FINAL_SHARE, n)
        self.fd_level = 0.9 * rng.lognormal(0.0, 0.05, n)
        d = np.where(off, self.dist, 1.0)
        g_final = np.where(off, np.asarray(gdp[min(gdp)]) ** 0.9 / np.maximum(d, 30.0) ** 1.2, 0)
        self.final_trade = g_final / g_final.sum(axis=0, keepdims=True)  # [j, i]: j supplies i

        # technical coefficients
        A0 = rng.lognormal(0.0, 1.0, (S, S)) * np.where(intermediate, 2.0, 1.0)[:, None]
        A0[np.diag_indices(S)] *= 4.0
        A0 /= A0.sum(axis=0, keepdims=True)
        a = A0[None] * rng.lognormal(0.0, 0.2, (n, S, S))
        a *= rng.uniform(0.50, 0.68, (n, 1, S)) / a.sum(axis=1, keepdims=True)
        a[self.zero_cells[0], :, self.zero_cells[1]] = 0.0
        self.a = a  # a[j, r, s]
        local = rng.uniform(*LOCAL_INPUT_SHARE, (n, S))
        local[self.zero_cells] = 0.0
        g_inter = np.where(off, np.asarray(gdp[min(gdp)]) ** 0.9 / np.maximum(d, 30.0) ** 1.6, 0)
        k = min(n_partners, n - 1)
        if k < n - 1:
            cut = -np.sort(-g_inter, axis=0)[k - 1]
            g_inter = np.where(g_inter >= cut[None, :], g_inter, 0.0)
        pi = g_inter[:, :, None] * cap[:, None, :]   # [k, j, r]
        pi /= pi.sum(axis=0, keepdims=True)
        pi *= (1.0 - local)[None, :, :]
        pi[np.arange(n), np.arange(n), :] = local
        self.trade = pi
        self.coef_drift = 0.03

        # exports, errors, imports, value added, final-use categories
        self.export_rate = np.where(np.asarray(east), rng.uniform(0.08, 0.20, n),
                                    rng.uniform(0.02, 0.07, n))
        ex_mix = self.basket * rng.lognormal(0.0, 0.5, (n, S))
        self.export_mix = ex_mix / ex_mix.sum(axis=1, keepdims=True)
        self.import_rate = rng.uniform(0.02, 0.10, self.N)
        self.va_shares = np.column_stack([rng.uniform(0.35, 0.55, self.N),
                                          rng.uniform(0.08, 0.15, self.N),
                                          rng.uniform(0.10, 0.18, self.N)])
        fu = np.array([0.10, 0.32, 0.14, 0.44]) * rng.lognormal(0.0, 0.15, (n, 4))
        self.fu_shares = fu / fu.sum(axis=1, keepdims=True)

        # class-level adjustment weights W (N x 4n)
        nc = len(CLASSES)
        W = np.zeros((self.N, n * nc))
        rows = np.arange(self.N)
        city = rows // S
        sec = rows % S
        class_total = self.basket @ self.class_onehot  # n x 4
        w = self.basket[city, sec] / np.where(class_total[city, self.sector_class[sec]] > 0,
                                              class_total[city, self.sector_class[sec]], 1.0)
        W[rows, city * nc + self.sector_class[sec]] = w
        self.W = W
        self.active = (class_total > 0).reshape(-1)

    def _pick_zero_cells(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """A few region-sectors with no output: extraction sectors when the table has them,
        otherwise sectors of classes with at least two sectors; at most one per city."""
        n, S = self.n, self.S
        codes = self.sector_codes
        candidates = [s for s, c in enumerate(codes) if c in EXTRACTION]
        if not candidates:
            counts = np.bincount(self.sector_class, minlength=len(CLASSES))
            candidates = [s for s in range(S) if counts[self.sector_class[s]] >= 2]
        k = max(2, round(0.001 * n * S))
        cities = rng.choice(n, size=min(k, n), replace=False)
        sectors = rng.choice(candidates, size=len(cities))
        return cities, sectors

    # ------------------------------------------------------------------ per-year blocks

    def final_demand(self, year: int) -> np.ndarray:
        """Base final demand Y_base (N x n) before planted adjustments."""
        n, S = self.n, self.S
        F = self.fd_level * np.asarray(self.gdp[year], float)
        imported = F * (1.0 - self.own_share)
        Y = np.einsum("ji,js->jsi", self.final_trade * imported[None, :], self.basket)
        own = F * self.own_share
        Y[np.arange(n), :, np.arange(n)] = own[:, None] * self.own_mix
        return Y.reshape(n * S, n)

    def technical(self, year: int) -> np.ndarray:
        """Technical coefficients A (N x N) of a table year."""
        n, S = self.n, self.S
        rng = np.random.default_rng([self.seed, 32, year])
        a = self.a * rng.lognormal(0.0, self.coef_drift, self.a.shape)
        A = np.empty((self.N, self.N))
        for j in range(n):
            A[:, j * S:(j + 1) * S] = (self.trade[:, j, :].reshape(-1, 1)
                                       * np.tile(a[j], (n, 1)))
        return A

    def classes(self, X: np.ndarray) -> np.ndarray:
        """Aggregate the rows (j, s) of an N x m block to (j, c): returns n x 4 x m."""
        return np.einsum("jsm,sc->jcm", X.reshape(self.n, self.S, -1), self.class_onehot)

    def table(self, year: int, target_offdiag: np.ndarray | None = None) -> PlantedMrio:
        """Build one year's table.

        ``target_offdiag`` (n x 4 x n) is the required class output G[(j, c), i] for i != j;
        None keeps the base final demand.
        """
        n, S, N = self.n, self.S, self.N
        nc = len(CLASSES)
        rng = np.random.default_rng([self.seed, 33, year])
        A = self.technical(year)
        IA = np.negative(A)
        IA[np.diag_indices(N)] += 1.0
        lu = lu_factor(IA, overwrite_a=True, check_finite=False)
        Yb = self.final_demand(year)
        base = self.classes(lu_solve(lu, Yb, check_finite=False))
        clipped = 0
        if target_offdiag is None:
            Y, G = Yb, base
        else:
            resid = target_offdiag - base
            resid[np.arange(n), :, np.arange(n)] = 0.0
            U = lu_solve(lu, self.W, check_finite=False)
            M = self.classes(U).reshape(n * nc, n * nc)
            act = self.active
            delta = np.zeros((n * nc, n))
            delta[act] = np.linalg.solve(M[np.ix_(act, act)], resid.reshape(n * nc, n)[act])
            cls = self.classes(Yb).reshape(n * nc, n) + delta
            clipped = int((cls < -1e-9 * np.abs(cls).max()).sum())
            delta = np.where(cls < 0, delta - cls, delta)
            Y = Yb + self.W @ delta
            Y = np.maximum(Y, 0.0)
            del U
            G = self.classes(lu_solve(lu, Y, check_finite=False))
        want = base if target_offdiag is None else np.where(
            np.eye(n, dtype=bool)[:, None, :], base, target_offdiag)
        err = float(np.abs(G - want).max() / np.abs(want).max())

        # final use by category
        inv = rng.normal(0.006, 0.012, (N, n))
        w = self.fu_shares[None, :, :] * rng.lognormal(0.0, 0.25, (N, n, 4))
        w /= w.sum(axis=2, keepdims=True)
        fu = np.empty((N, n, 5))
        fu[:, :, :4] = (Y * (1.0 - inv))[:, :, None] * w
        fu[:, :, 4] = Y * inv
        zero = np.zeros(N, dtype=bool)
        zero[self.zero_cells[0] * S + self.zero_cells[1]] = True

        gdp = np.repeat(np.asarray(self.gdp[year], float) * self.export_rate, S)
        ex = gdp * self.export_mix.reshape(-1) * rng.lognormal(0.0, 0.05, N)
        ex[zero] = 0.0
        err_ = rng.normal(0.0, 0.003, N) * (Y.sum(axis=1) + ex)
        err_[zero] = 0.0
        x = lu_solve(lu, Y.sum(axis=1) + ex - err_, check_finite=False)
        x[zero] = 0.0
        del lu, IA
        imports = self.import_rate * x
        va = x - A.sum(axis=0) * x - imports
        va_parts = np.empty((N, 4))
        va_parts[:, :3] = self.va_shares * va[:, None]
        va_parts[:, 3] = va - va_parts[:, :3].sum(axis=1)
        return PlantedMrio(year, A, fu, ex, err_, x, imports, va_parts, G, err, clipped)

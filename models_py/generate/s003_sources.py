"""Raw sources of study S003 (HSR and information connectivity -> inter-city industrial
transfer): CEADs city MRIO tables, Baidu search indices between cities, HSR lines and stations.

Files written under the raw folder:

- ``ceads/ceads_city_mrio_<YYYY>.xlsx`` (small scale) or ``.parquet`` (full scale) for 2012,
  2015 and 2017, in the CEADs layout, or in the format asked for (``ceads_format``: the real
  tables come as xlsx workbooks; at full size each is 260 MB and takes about 100 s to write);
  see :mod:`models_py.generate.mrio_files` for the grid and the parquet grid format, and
  :mod:`models_py.generate.mrio_world` for the economics.
- ``baidu_index/baidu_index_<YYYY>.csv`` for 2012-2017: ``搜索城市``, ``目标城市``, ``年份``,
  ``日均搜索指数``; directed, Baidu short names, pairs without measurable searches absent;
  2013 and 2016 in GBK, 2014 UTF-8 with BOM, the others UTF-8.
- ``hsr/hsr_lines.csv`` (``线路名称``, ``开通日期`` as ``YYYY-MM-DD`` or ``YYYY.M.D``, ``站点``
  separated by ``|`` or ``、``; a line opened in stages has one row per stage, the junction
  station in both) and ``hsr/hsr_stations.csv`` (``站点``, ``所在城市``, ``行政区划代码`` filled on
  some rows).

Definitions the planted effects are written against (pairs i -> j of MRIO cities, i != j;
periods p1 = 2012-2015 and p2 = 2015-2017):

- ``X_ij^t = sum_s X[(i, s), j]^t`` with ``(I - A^t) X^t = Y^t`` and ``Y[(i, s), j]`` the sum of
  city j's five final-use columns in row (i, s) (exports excluded). The transfer from i to j is
  ``T_ij = X_ji^{t1} - X_ji^{t0}``; ``IT = sign(T) ln(1 + |T|)``; ``IT_direction = 1[T > 0]``;
  ``T_ij^c`` sums the rows of class c (labor, capital, technology; the reference sector table's
  factor intensity).
- ``connectivity_HSR``: for a year, the number of lines (``线路名称``) with an open station in
  both cities; a line serves a city from the opening date of its first stage with a station in
  that city, a pair from the later of its two cities' dates; in the year a pair becomes served
  the line counts by ``(Jan 1 of next year - date).days / days in the year``. A period's value is
  the mean over its years (p1: 2012-2015, p2: 2015-2017).
- ``connectivity_I = ln(1 + mean over the period's years of the daily index searching from i for
  j)``, absent rows counting as 0. ``connectivity_double`` = their product.
- A pair is down-gradient in a period when i's mean GDP per capita over the period's years
  exceeds j's (latent GDP per capita).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from models_py import reference
from models_py.generate import mrio_files
from models_py.generate.latent import gdppc, population
from models_py.generate.mrio_world import CLASSES, MrioWorld, great_circle_km

HSR_FIRST_YEAR, HSR_LAST_YEAR = 2008, 2017
BAIDU_ENCODINGS = {2013: "gbk", 2014: "utf-8-sig", 2016: "gbk"}
STATION_SUFFIXES = ("站", "东站", "南站", "西站", "北站")
LINE_ABBREVIATIONS = {"北京": "京", "上海": "沪", "天津": "津", "重庆": "渝"}

# Latent index of the planted transfer, per sector class, by gradient (down = rich -> poor):
# z = a_ij + mu_p + b_HSR * HSR + b_I * I_resid + b_double * double_resid + e and
# T = scale * tanh(z), where I_resid is I net of HSR and double_resid is HSR x I net of both
# (in within-pair changes, see _within_residual); pair levels are absorbed by pair FE.
EFFECTS = {
    "labor":        {"down": {"HSR": 0.0, "I": 1.2}, "up": {"HSR": 2.5, "I": -0.6}},
    "capital":      {"down": {"HSR": 0.0, "I": 2.4}, "up": {"HSR": 2.5, "I": 2.0}},
    "technology":   {"down": {"HSR": 0.0, "I": 1.4}, "up": {"HSR": 0.0, "I": 0.0}},
    "unclassified": {"down": {"HSR": 0.0, "I": 2.4}, "up": {"HSR": 2.5, "I": 1.8}},
}
# HSR x I synergy per class, planted on up-gradient pairs only (down-gradient HSR effects are
# 0); none in technology, whose up-gradient effects are 0
SYNERGY = {"labor": 2.0, "capital": 2.0, "technology": 0.0, "unclassified": 2.0}
LEVEL_SHIFT = 0.3        # mean latent index: about 62% of transfers are outflows
PERIOD_SCALE = (1.0, 0.8)  # period shock on the size of transfers (p2 spans two years)
PAIR_SD = (0.5, 0.3)    # common and class-specific pair levels
NOISE_SD = (0.6, 0.6)   # common and class-specific pair-period shocks
TRANSFER_SCALE = 0.18   # planted transfer per period relative to 2012 direct purchases
PLANT_STREAM = 37


# ----------------------------------------------------------------------------- HSR network

@dataclass
class HsrStage:
    line: str
    opened: dt.date
    stations: list[str]


@dataclass
class HsrNetwork:
    stages: list[HsrStage]
    station_city: dict[str, str] = field(default_factory=dict)  # station -> city_id


def periods() -> list[tuple[int, int]]:
    """S003's periods as (first year, last year), in order (``ref_s003_period``)."""
    p = reference.s003_periods()
    return list(zip(p["first_year"].astype(int), p["last_year"].astype(int)))


def _line_abbr(short: str) -> str:
    return LINE_ABBREVIATIONS.get(short, short[0])


def _random_date(rng, year: int) -> dt.date:
    """An opening date in ``year``: often just before New Year, as HSR openings tend to be."""
    if rng.random() < 0.4:
        return dt.date(year, 12, int(rng.integers(20, 32)))
    start = dt.date(year, 1, 1).toordinal()
    days = 366 if year % 4 == 0 else 365
    return dt.date.fromordinal(start + int(rng.integers(0, days)))


def _corridor_cities(a: int, b: int, xy: np.ndarray, buffer_km: float, limit: int) -> list[int]:
    """Cities within ``buffer_km`` of the segment a-b, ordered along it, ends included."""
    pa, pb = xy[a], xy[b]
    d = pb - pa
    length2 = float(d @ d)
    t = ((xy - pa) @ d) / length2
    foot = pa + np.clip(t, 0, 1)[:, None] * d
    off = np.linalg.norm(xy - foot, axis=1)
    inside = np.where((t > 0.02) & (t < 0.98) & (off < buffer_km))[0]
    inside = [k for k in inside if k not in (a, b)]
    inside.sort(key=lambda k: t[k])
    if len(inside) > limit:
        keep = np.linspace(0, len(inside) - 1, limit).round().astype(int)
        inside = [inside[k] for k in sorted(set(keep))]
    return [a, *inside, b]


def build_hsr(cities: pd.DataFrame, pop: np.ndarray, rng, full: bool) -> HsrNetwork:
    """Synthetic HSR lines 2008-2017 between hub cities through the cities along the way.

    ``cities`` holds city_id, short_name, longitude, latitude, level for every city of the scale.
    """
    n = len(cities)
    lon = cities["longitude"].to_numpy(float)
    lat = cities["latitude"].to_numpy(float)
    xy = np.column_stack([lon * 111.32 * np.cos(np.radians(lat.mean())), lat * 110.57])
    dist = great_circle_km(lon, lat)
    ids = cities["city_id"].tolist()
    short = cities["short_name"].tolist()
    capital = (np.array([c[2:4] == "01" for c in ids])
               | (cities["level"] == "municipality").to_numpy())
    hubs = np.where(capital | (pop >= np.quantile(pop, 0.8)))[0]
    buffer_km = 60.0 if full else 110.0
    limit = 16 if full else 4

    edges: set[tuple[int, int]] = set()
    for h in hubs:
        others = [k for k in hubs if k != h and 150 < dist[h, k] < 1300]
        others.sort(key=lambda k: dist[h, k])
        for k in others[:int(rng.integers(2, 4) if full else rng.integers(3, 5))]:
            edges.add((min(h, k), max(h, k)))
    routes = [_corridor_cities(a, b, xy, buffer_km, limit) for a, b in sorted(edges)]
    # long trunk lines chaining hubs in one direction
    for _ in range(24 if full else 10):
        start = int(rng.choice(hubs))
        heading = rng.uniform(0, 2 * np.pi)
        chain = [start]
        for _ in range(int(rng.integers(3, 7))):
            cur = chain[-1]
            vec = xy[hubs] - xy[cur]
            ang = np.arctan2(vec[:, 1], vec[:, 0])
            diff = np.abs((ang - heading + np.pi) % (2 * np.pi) - np.pi)
            ok = [h for h, dd, df in zip(hubs, dist[cur, hubs], diff)
                  if 200 < dd < 800 and df < np.radians(35) and h not in chain]
            if not ok:
                break
            nxt = min(ok, key=lambda h: dist[cur, h])
            heading = np.arctan2(*(xy[nxt] - xy[cur])[::-1])
            chain.append(nxt)
        if len(chain) >= 3:
            route = [chain[0]]
            for a, b in zip(chain, chain[1:]):
                route.extend(_corridor_cities(a, b, xy, buffer_km, limit)[1:])
            routes.append(route)

    stations_of: dict[int, list[str]] = {k: [] for k in range(n)}
    station_city: dict[str, str] = {}
    used_names: set[str] = set()
    stages: list[HsrStage] = []
    year_weights = np.array([4, 5, 6, 7, 8, 12, 14, 14, 15, 15], float)
    years = np.arange(HSR_FIRST_YEAR, HSR_LAST_YEAR + 1)
    for route in routes:
        a, b = route[0], route[-1]
        name = f"{_line_abbr(short[a])}{_line_abbr(short[b])}高速铁路"
        for alt in (f"{_line_abbr(short[a])}{_line_abbr(short[b])}客运专线",
                    f"{short[a]}至{short[b]}城际铁路", f"{short[a]}至{short[b]}高速铁路二线"):
            if name not in used_names:
                break
            name = alt
        if name in used_names:
            continue
        used_names.add(name)
        names = []
        for k in route:
            have = stations_of[k]
            if have and rng.random() < 0.6:
                names.append(have[0])
                continue
            for suffix in STATION_SUFFIXES:
                cand = f"{short[k]}{suffix}"
                if cand not in station_city:
                    break
            else:
                names.append(have[0])
                continue
            station_city[cand] = ids[k]
            have.append(cand)
            names.append(cand)
        opened = _random_date(rng, int(rng.choice(years, p=year_weights / year_weights.sum())))
        pieces = [names]
        if len(names) >= 4 and rng.random() < 0.4:
            cut = int(rng.integers(2, len(names) - 1))
            pieces = [names[:cut + 1], names[cut:]]
        dates = [opened]
        for _ in pieces[1:]:
            nxt = dates[-1] + dt.timedelta(days=int(rng.integers(150, 800)))
            dates.append(min(nxt, dt.date(HSR_LAST_YEAR, 12, 28)))
        if dates[-1] <= dates[0]:   # opened too late in the last year for a later stage
            pieces, dates = [names], [opened]
        for piece, when in zip(pieces, dates):
            stages.append(HsrStage(name, when, piece))
    stages.sort(key=lambda s: (s.opened, s.line))
    return HsrNetwork(stages, station_city)


def hsr_connectivity(net: HsrNetwork, city_ids: list[str], years: list[int]) -> np.ndarray:
    """Lines serving both cities, per ordered pair and year (n x n x len(years))."""
    index = {c: k for k, c in enumerate(city_ids)}
    out = np.zeros((len(city_ids), len(city_ids), len(years)))
    first: dict[str, dict[int, dt.date]] = {}
    for st in net.stages:
        served = first.setdefault(st.line, {})
        for name in st.stations:
            k = index.get(net.station_city[name])
            if k is not None and (k not in served or st.opened < served[k]):
                served[k] = st.opened
    for served in first.values():
        ks = list(served)
        for a in ks:
            for b in ks:
                if a == b:
                    continue
                since = max(served[a], served[b])
                for y, year in enumerate(years):
                    if since.year < year:
                        out[a, b, y] += 1.0
                    elif since.year == year:
                        days = (dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days
                        out[a, b, y] += (dt.date(year + 1, 1, 1) - since).days / days
    return out


def write_hsr(folder: Path, net: HsrNetwork, cities: pd.DataFrame, rng) -> None:
    """``hsr_lines.csv`` and ``hsr_stations.csv`` with mixed date formats and separators."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for st in net.stages:
        d = st.opened
        date = d.isoformat() if rng.random() < 0.5 else f"{d.year}.{d.month}.{d.day}"
        sep = "|" if rng.random() < 0.5 else "、"
        rows.append({"线路名称": st.line, "开通日期": date, "站点": sep.join(st.stations)})
    pd.DataFrame(rows).to_csv(folder / "hsr_lines.csv", index=False, encoding="utf-8")
    by_id = cities.set_index("city_id")
    srows = []
    for name, cid in sorted(net.station_city.items(), key=lambda kv: (kv[1], kv[0])):
        city = by_id.loc[cid, "city_name"] if rng.random() < 0.7 else by_id.loc[cid, "short_name"]
        code = cid if rng.random() < 0.7 else ""
        srows.append({"站点": name, "所在城市": city, "行政区划代码": code})
    pd.DataFrame(srows).to_csv(folder / "hsr_stations.csv", index=False, encoding="utf-8-sig")


# ------------------------------------------------------------------------------ Baidu index

def build_baidu(pop: np.ndarray, gdp: np.ndarray, province: np.ndarray, dist: np.ndarray,
                years: list[int], rng) -> np.ndarray:
    """Daily average Baidu index from i for j (n x n x years), 0 where no row is written.

    Gravity levels (searcher population, target GDP, distance, same province), pair-specific
    growth rates, small yearly noise; weak pairs are dropped in about half the cases.
    """
    n = len(pop)
    same = province[:, None] == province[None, :]
    level = np.exp(2.6 + 0.55 * np.log(pop / 400.0)[:, None]
                   + 0.75 * np.log(gdp / np.median(gdp))[None, :]
                   - 1.1 * np.log(np.maximum(dist, 50.0) / 300.0)
                   + 0.6 * same + rng.normal(0, 0.6, (n, n)))
    growth = rng.normal(0.10, 0.12, (n, n))
    drop = rng.random((n, n)) < 0.5
    out = np.zeros((n, n, len(years)))
    for y, year in enumerate(years):
        v = level * np.exp(growth * (year - years[0]) + rng.normal(0, 0.06, (n, n)))
        v = np.round(v, 2)
        v[(v < 6.0) & drop] = 0.0
        v[v < 0.01] = 0.0
        np.fill_diagonal(v, 0.0)
        out[:, :, y] = v
    return out


def write_baidu(folder: Path, values: np.ndarray, short: list[str], years: list[int]) -> int:
    """One CSV per year; returns the number of rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    names = np.array(short, dtype=object)
    for y, year in enumerate(years):
        i, j = np.nonzero(values[:, :, y])
        frame = pd.DataFrame({"搜索城市": names[i], "目标城市": names[j], "年份": year,
                              "日均搜索指数": values[i, j, y]})
        frame.to_csv(folder / f"baidu_index_{year}.csv", index=False,
                     encoding=BAIDU_ENCODINGS.get(year, "utf-8"), float_format="%.2f")
        total += len(frame)
    return total


# --------------------------------------------------------------------------- planted effects

def _period_means(values: np.ndarray, years: list[int]) -> list[np.ndarray]:
    """Mean over each period's years of a (..., years) array."""
    out = []
    for a, b in periods():
        idx = [k for k, y in enumerate(years) if a <= y <= b]
        out.append(values[..., idx].mean(axis=-1))
    return out


def _within_residual(y: list[np.ndarray], xs: list[list[np.ndarray]], group: np.ndarray,
                     off: np.ndarray, weight: np.ndarray) -> list[np.ndarray]:
    """``y`` net of ``xs``: the weighted projection of y's within-pair change on the changes
    of ``xs`` (with a constant), fitted inside each gradient group, is taken out, and each
    period is centred on its weighted group mean.

    The weights are the log scale of each pair's transfer: IT = sign(T) ln(1 + |T|) moves by
    about that much when the sign of T flips, so orthogonality under these weights keeps a
    term out of the one-variable IT regressions on the ``xs``.
    """
    out = [y[0].copy(), y[1].copy()]
    for g in np.unique(group[off]):
        m = off & (group == g)
        w = weight[m]
        sw = np.sqrt(w)
        X = np.column_stack([np.ones(m.sum())] + [(x[1] - x[0])[m] for x in xs])
        coef = np.linalg.lstsq(X * sw[:, None], (y[1] - y[0])[m] * sw, rcond=None)[0]
        for p in range(2):
            out[p][m] = y[p][m] - sum(b * x[p][m] for b, x in zip(coef[1:], xs))
            out[p][m] -= np.average(out[p][m], weights=w)
    return out


def plant_transfers(hsr: list[np.ndarray], info: list[np.ndarray], down: list[np.ndarray],
                    direct: np.ndarray, rng) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Planted transfers per period: T[p][j, c, i] = transfer from i to j in class c.

    ``direct`` (n x 4 x n) is city i's 2012 final purchases of city j's class-c goods.
    Returns the transfers and the latent indices z[p][j, c, i].
    """
    n = direct.shape[0]
    off = ~np.eye(n, dtype=bool)
    group = down[0].astype(int) * 2 + down[1].astype(int)
    # the information effect rides on the part of I's change not explained by HSR's change,
    # and the synergy on the part of HSR x I's change explained by neither
    weight = np.log1p(TRANSFER_SCALE * direct.sum(axis=1).T)
    info_part = _within_residual(info, [hsr], group, off, np.ones_like(weight))
    double = [h * i for h, i in zip(hsr, info)]
    syn = _within_residual(double, [hsr, info], group, off, weight)
    h_bar = (hsr[0] + hsr[1]) / 2
    i_bar = (info_part[0] + info_part[1]) / 2
    s_bar = (syn[0] + syn[1]) / 2
    common_level = rng.normal(0, PAIR_SD[0], (n, n))
    class_level = rng.normal(0, PAIR_SD[1], (len(CLASSES), n, n))
    transfers, latent = [], []
    for p in range(2):
        common_shock = rng.normal(0, NOISE_SD[0], (n, n))
        T = np.zeros((n, len(CLASSES), n))
        Z = np.zeros((n, len(CLASSES), n))
        for c, name in enumerate(CLASSES):
            eff = EFFECTS[name]
            b_h = np.where(down[p], eff["down"]["HSR"], eff["up"]["HSR"])
            b_i = np.where(down[p], eff["down"]["I"], eff["up"]["I"])
            z = (common_level + LEVEL_SHIFT
                 + b_h * (hsr[p] - h_bar) + b_i * (info_part[p] - i_bar)
                 + np.where(down[p], 0.0, SYNERGY[name]) * (syn[p] - s_bar) + common_shock
                 + rng.normal(0, NOISE_SD[1], (n, n)))
            z_ij = z + class_level[c]
            z_ij[~off] = 0.0
            # z_ij[i, j] is the pair i -> j; T is stored at [j, c, i]
            Z[:, c, :] = z_ij.T
            T[:, c, :] = (TRANSFER_SCALE * PERIOD_SCALE[p] * direct[:, c, :]
                          * np.tanh(z_ij.T))
        transfers.append(T)
        latent.append(Z)
    return transfers, latent


# ---------------------------------------------------------------------------------- writer

def _signed_log(t: np.ndarray) -> np.ndarray:
    return np.sign(t) * np.log1p(np.abs(t))


def _expected_signs() -> dict:
    """The signs the S003 tables should show, from :data:`EFFECTS` and :data:`SYNERGY`."""
    def sign(v: float) -> str:
        return "+" if v > 0 else "-" if v < 0 else "0"

    sector = {}
    for name, short in (("labor", "IT_labor"), ("capital", "IT_capital"),
                        ("technology", "IT_tech")):
        sector[short] = {g: {"connectivity_HSR": sign(EFFECTS[name][g]["HSR"]),
                             "connectivity_I": sign(EFFECTS[name][g]["I"])}
                         for g in ("down", "up")}
    return {
        "baseline_IT_direction": {"connectivity_HSR": "+", "connectivity_I": "+"},
        "gradient_IT": {"down": {"connectivity_HSR": "0", "connectivity_I": "+"},
                        "up": {"connectivity_HSR": "+", "connectivity_I": "+"},
                        "connectivity_I_larger": "down"},
        "sector_IT": sector,
        "synergy_IT": {"connectivity_double": "+",
                       "by_gradient": {"down": "not planted", "up": "+"}},
        # No reverse channel is planted (connectivity is drawn before the transfer shocks), but a
        # regression of connectivity on IT mirrors the forward association, so it comes out "+".
        "reverse_causality": {"connectivity_HSR_on_IT": "+", "connectivity_I_on_IT": "+",
                              "planted_reverse_channel": "none"},
        "population_gradient": "not planted: follows the GDP-per-capita split as far as "
                               "population ranks the pair the same way",
        "distance_tiers": "not planted by tier: the latent effects are the same at every "
                          "distance",
        "mechanisms": {v: "0" for v in ("factor_labor", "factor_fcapital", "factor_ccapital",
                                         "factor_flc", "factor_clc", "factor_tech")},
    }


CEADS_FORMATS = ("xlsx", "csv", "parquet")


def write_all(out_dir: Path, sc, latent: pd.DataFrame, seed: int,
              ceads_format: str | None = None) -> dict:
    """Write the S003 sources under ``out_dir`` and return ``{"S003": truth}``. The CEADs
    tables are written as ``ceads_format`` (default: Parquet at full scale, xlsx at small),
    replacing a table of the same year this generator wrote earlier in another format."""
    out_dir = Path(out_dir)
    full = sc.name == "full"
    ceads_format = ceads_format or ("parquet" if full else "xlsx")
    if ceads_format not in CEADS_FORMATS:
        raise ValueError(f"unknown CEADs format {ceads_format!r}: expected one of "
                         f"{', '.join(CEADS_FORMATS)}")
    years = list(sc.baidu_years)
    bar = tqdm(total=3 + 2 * len(sc.mrio_years), desc="S003 sources", disable=not full)

    roster = reference.cities().set_index("city_id")
    lat = latent.set_index("city_id")
    all_ids = list(sc.city_ids)
    ceads = list(sc.ceads_city_ids)
    n = len(ceads)
    cities_all = roster.loc[all_ids].reset_index()
    cities = roster.loc[ceads]
    lat_c = lat.loc[ceads]

    bar.set_postfix_str("HSR")
    on_lines = list(sc.hsr_city_ids)
    net = build_hsr(roster.loc[on_lines].reset_index(), population(lat.loc[on_lines], 2012),
                    np.random.default_rng([seed, 30]), full)
    write_hsr(out_dir / "hsr", net, cities_all, np.random.default_rng([seed, 36]))
    hsr = _period_means(hsr_connectivity(net, ceads, years), years)
    bar.update()

    bar.set_postfix_str("Baidu index")
    dist = great_circle_km(cities["longitude"].to_numpy(float), cities["latitude"].to_numpy(float))
    gdp12 = gdppc(lat_c, 2012) * population(lat_c, 2012)
    baidu = build_baidu(population(lat_c, 2012), gdp12, cities["province_id"].to_numpy(), dist,
                        years, np.random.default_rng([seed, 34]))
    baidu_rows = write_baidu(out_dir / "baidu_index", baidu, cities["short_name"].tolist(), years)
    info = [np.log1p(m) for m in _period_means(baidu, years)]
    bar.update()

    bar.set_postfix_str("planted transfers")
    gpc = [np.mean([gdppc(lat_c, y) for y in range(a, b + 1)], axis=0) for a, b in periods()]
    down = [g[:, None] > g[None, :] for g in gpc]

    sectors = reference.sectors().set_index("sector_code").loc[list(sc.sector_codes)]
    sector_class = sectors["factor_intensity"].map({c: k for k, c in enumerate(CLASSES)})
    world = MrioWorld(
        ceads, sc.sector_codes, sector_class.to_numpy(int),
        cities["longitude"].to_numpy(float), cities["latitude"].to_numpy(float),
        (cities["region"] == "east").to_numpy(),
        {y: gdppc(lat_c, y) * population(lat_c, y) for y in sc.mrio_years},
        {y: gdppc(lat_c, y) for y in sc.mrio_years}, seed)
    direct = world.classes(world.final_demand(sc.mrio_years[0]))
    planted, _ = plant_transfers(hsr, info, down, direct,
                                 np.random.default_rng([seed, PLANT_STREAM]))
    bar.update()

    folder = out_dir / "ceads"
    folder.mkdir(parents=True, exist_ok=True)
    region_names = cities["city_name"].tolist()
    labels = sectors["sector_name_en"].tolist()
    outputs, diagnostics = [], {}
    cumulative = None
    for k, year in enumerate(sc.mrio_years):
        bar.set_postfix_str(f"MRIO {year}")
        if k == 0:
            table = world.table(year)
            reference_output = table.class_output.copy()
        else:
            cumulative = planted[k - 1] if cumulative is None else cumulative + planted[k - 1]
            table = world.table(year, reference_output + cumulative)
        bar.update()
        outputs.append(table.class_output)
        diagnostics[str(year)] = {"max_target_error": table.max_target_error,
                                  "clipped_class_purchases": table.clipped_cells,
                                  "gross_output_total": float(table.gross_output.sum())}
        grid = mrio_files.build_grid(year, region_names, labels, list(sc.sector_codes),
                                     table.intermediate(), table.final_use, table.exports,
                                     table.errors, table.gross_output, table.imports,
                                     table.value_added)
        del table
        path = folder / f"ceads_city_mrio_{year}.{ceads_format}"
        for other in CEADS_FORMATS:   # an earlier run's file of another format: one per year
            path.with_suffix(f".{other}").unlink(missing_ok=True)
        if ceads_format == "parquet":
            mrio_files.write_ceads_parquet(path, grid)
        elif ceads_format == "csv":
            mrio_files.write_ceads_csv(path, grid)
        elif full:   # streamed: xlsxwriter would take most of an hour per full-size table
            mrio_files.write_ceads_xlsx(path, grid)
        else:
            mrio_files.write_ceads_xlsx_small(path, grid)
        del grid
        bar.update()
    bar.close()

    off = ~np.eye(n, dtype=bool)
    realized = [outputs[1] - outputs[0], outputs[2] - outputs[1]]
    agree_class = [float((np.sign(r) == np.sign(t)).transpose(0, 2, 1)[off].mean())
                   for r, t in zip(realized, planted)]
    agree_total = [float((np.sign(r.sum(1)) == np.sign(t.sum(1)))[off].mean())
                   for r, t in zip(realized, planted)]
    total = [r.sum(axis=1).T for r in realized]  # [i, j] transfer from i to j
    changed = (np.abs(hsr[1] - hsr[0]) > 1e-12) & off
    examples = _examples(cities, hsr, info, down, realized, np.random.default_rng([seed, 37]))
    truth = {
        "cities": n,
        "pairs": int(off.sum()),
        "periods": list(reference.s003_periods()["period"]),
        "definitions": __doc__.split("Definitions the planted effects are written against")[1]
        .strip(),
        "expected_signs": _expected_signs(),
        "latent_model": {
            "index": "z^c_ij,p = a_ij + a^c_ij + level_shift + b_HSR(g) (HSR_p - pair mean) "
                     "+ b_I(g) (I_resid_p - pair mean) + b_double(g) (double_resid_p - pair "
                     "mean) + e_ij,p + e^c_ij,p; T^c_ij,p = transfer_scale * period_scale_p * "
                     "(city i's 2012 final purchases of city j's class-c goods) * tanh(z); "
                     "g = the pair's gradient in period p",
            "I_resid": "connectivity_I net of its within-pair change's projection on HSR's "
                       "change inside each gradient group",
            "effects_by_class": EFFECTS,
            "synergy": SYNERGY,
            "synergy_note": "planted on up-gradient pairs only; double_resid = HSR x I net of "
                            "its within-pair change's projection on the changes of HSR and I "
                            "inside each gradient group (weighted by the log transfer scale)",
            "level_shift": LEVEL_SHIFT,
            "period_scale": list(PERIOD_SCALE),
            "transfer_scale": TRANSFER_SCALE,
            "reverse_causality_note": "connectivity is drawn before and independently of the "
                                      "transfer shocks; a regression of connectivity on IT still "
                                      "mirrors the forward association",
            "mechanisms_note": "mechanism variables come from the yearbook generator; no "
                               "connectivity effect is planted on them",
        },
        "realized": {
            "IT_direction_mean": [float((t[off] > 0).mean()) for t in total],
            "IT_mean": [float(_signed_log(t[off]).mean()) for t in total],
            "sign_agreement_class": agree_class,
            "sign_agreement_total": agree_total,
            "connectivity_HSR_mean": [float(h[off].mean()) for h in hsr],
            "connectivity_I_mean": [float(i[off].mean()) for i in info],
            "pairs_with_HSR_change": int(changed.sum()),
            "down_gradient_share": [float(d[off].mean()) for d in down],
        },
        "mrio": {
            "years": list(sc.mrio_years),
            "regions": n,
            "sectors": len(sc.sector_codes),
            "format": ceads_format,
            "zero_output_cells": [[ceads[c], sc.sector_codes[s]]
                                  for c, s in zip(*world.zero_cells)],
            "tables": diagnostics,
        },
        "hsr": {"lines": len({s.line for s in net.stages}), "stages": len(net.stages),
                "stations": len(net.station_city),
                "staged_lines": sorted({s.line for s in net.stages
                                        if sum(t.line == s.line for t in net.stages) > 1})},
        "baidu": {"rows": baidu_rows,
                  "absent_share": float(1 - baidu_rows / (off.sum() * len(years)))},
        "examples": examples,
    }
    return {"S003": truth}


def _examples(cities: pd.DataFrame, hsr, info, down, realized, rng, k: int = 12) -> list[dict]:
    """A few pairs with every value the pipeline derives, for exact checks downstream."""
    n = len(cities)
    names = cities["city_name"].tolist()
    changed = np.argwhere((np.abs(hsr[1] - hsr[0]) > 0) & ~np.eye(n, dtype=bool))
    others = np.argwhere(~np.eye(n, dtype=bool))
    picks = [tuple(p) for p in changed[rng.permutation(len(changed))[:k // 2]]]
    for p in others[rng.permutation(len(others))]:
        if len(picks) >= k:
            break
        if tuple(p) not in picks:
            picks.append(tuple(p))
    out = []
    period_names = reference.s003_periods()["period"]
    for i, j in picks:
        for p in range(len(realized)):
            t_c = realized[p][j, :, i]
            t = float(t_c.sum())
            out.append({
                "city_i": names[i], "city_j": names[j], "period": period_names[p],
                "connectivity_HSR": float(hsr[p][i, j]), "connectivity_I": float(info[p][i, j]),
                "down_gradient": bool(down[p][i, j]), "T": t, "IT": float(_signed_log(t)),
                "IT_direction": int(t > 0),
                **{f"T_{c}": float(v) for c, v in zip(CLASSES, t_c)},
            })
    return out

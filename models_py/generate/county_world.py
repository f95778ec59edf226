"""The county and firm world of study S004: a county-year panel of GDP, population and incomes,
and the firm-year records of the industrial-firm survey, with planted industrial clusters.

About a fifth of the counties of a scale have (or grow) a cluster: many firms of one four-digit
industry entering from the cluster's start year, either small private firms (entrepreneurial
clusters) or large state, corporate and foreign ones (other clusters). From its start a cluster
raises the county's GDP growth, and an entrepreneurial cluster also raises rural income (so the
urban-rural income gap narrows). ``build_county_world`` returns the panel, the firm records and
the S004 truth; :mod:`models_py.generate.yearbook_files` and
:mod:`models_py.generate.firm_record_files` write them as county yearbooks and firm records.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_py import reference
from models_py.generate import latent as latent_mod
from models_py.generate.latent import world_rng
from models_py.generate.scale import Scale

S004_CLUSTER_SHARE = 0.20           # share of counties that have (or grow) a cluster
S004_ENTREPRENEURIAL_SHARE = 0.5    # of those, clusters of small private firms
S004_PREEXISTING_SHARE = 0.2        # clusters already present in the first year
S004_EMERGENCE_YEARS = (1999, 2005)
S004_GROWTH = {"entrepreneurial": 0.03, "other": 0.02}   # extra annual log GDP growth
S004_RURAL_INCOME = {"entrepreneurial": 0.12, "other": 0.0}  # log rural income step
S004_CLUSTER_FIRMS = (0.5, 1.0)     # cluster firm stock, as a share of the county's normal stock
S004_MIN_CLUSTER_FIRMS = 15         # ... and at least this many firms
FIRM_EXIT = {"normal": 0.08, "cluster": 0.05}
SPECIALTY_SHARE = 0.10              # normal firms drawn from their county's three specialties
ASIF_THRESHOLD_K_YUAN = 5000.0      # 5 million yuan: non-state firms below it are not surveyed

# CIC (GB/T 4754-2002) two-digit divisions of mining, manufacturing and utilities; the four-digit
# classes below each are synthetic but shaped like the real ones (1711, 1712, 1721, ...).
CIC_DIVISIONS = (6, 7, 8, 9, 10, 11, *range(13, 38), *range(39, 47))
ENTREPRENEURIAL_DIVISIONS = (17, 18, 19, 20, 21, 24, 30, 34, 39, 42)  # labour-intensive
OTHER_CLUSTER_DIVISIONS = (26, 31, 32, 33, 35, 36, 37, 40)          # capital-intensive

# 登记注册类型 codes with shares among incumbents (1998) and among entrants of 2007; entrants of
# other years interpolate linearly.
REGISTRATION_CODES = ("110", "120", "130", "141", "151", "159", "160", "171", "172", "173",
                      "174", "190", "210", "230", "310", "320", "330", "340")
REGISTRATION_1998 = (0.30, 0.24, 0.04, 0.01, 0.03, 0.07, 0.05, 0.03, 0.01, 0.04, 0.01, 0.02,
                     0.05, 0.03, 0.04, 0.01, 0.01, 0.00)
REGISTRATION_2007 = (0.04, 0.05, 0.02, 0.00, 0.02, 0.12, 0.04, 0.12, 0.03, 0.36, 0.04, 0.01,
                     0.03, 0.03, 0.04, 0.00, 0.05, 0.00)
PRIVATE_CODES = ("171", "172", "173", "174")
STATE_CODES = ("110", "151")


def cic_codes() -> tuple[str, ...]:
    """Four-digit industry codes: two-digit division, three-digit group, four-digit class."""
    codes = []
    for d in CIC_DIVISIONS:
        for g in range(1, 2 + d % 3 + 1):
            for c in range(1, 1 + (d + g) % 3 + 1):
                codes.append(f"{d:02d}{g}{c}")
    return tuple(codes)


@dataclass
class CountyWorld:
    """County-year panel (``county_id``, ``year``, ``gdp`` 万元, ``pop_registered`` 万人,
    ``urban_income`` and ``rural_income`` 元), the firm-year records, and the S004 truth."""
    panel: pd.DataFrame
    firms: pd.DataFrame
    truth: dict


def build_county_world(sc: Scale, latent: pd.DataFrame, seed: int) -> CountyWorld:
    """Counties of the scale over ``sc.county_years`` with planted industrial clusters."""
    counties = reference.counties().set_index("county_id").loc[list(sc.county_ids)]
    years = np.asarray(sc.county_years)
    nc, Y = len(counties), len(years)
    rng = world_rng(seed, 20)
    t = np.arange(Y)[None, :]

    # Development: the parent city's latent path taken back to the first year, else the region.
    lat = latent.set_index("city_id")
    back = latent_mod.BASE_YEAR - years[0]
    city_lg = counties["city_id"].map(lat["log_gdppc_2012"] - lat["gdppc_growth"] * back)
    region_lg = counties["region"].map({"east": 11.3, "central": 10.75, "west": 10.6})
    region_lg = region_lg - 0.075 * back
    lg0 = city_lg.fillna(region_lg).to_numpy(float) - 0.8 + rng.normal(0, 0.35, nc)
    zc = (lg0 - lg0.mean()) / (lg0.std() or 1.0)
    pop0 = np.clip(np.exp(rng.normal(np.log(45), 0.5, nc)), 5, 220)
    pop = pop0[:, None] * np.exp(rng.normal(0.005, 0.003, nc)[:, None] * t)

    clusters = _clusters(rng, counties, years)
    present = (years[None, :] >= clusters["start"][:, None]) & clusters["has"][:, None]
    ent_present = present & clusters["entrepreneurial"][:, None]
    other_present = present & ~clusters["entrepreneurial"][:, None]

    east = (counties["region"] == "east").to_numpy()[:, None]
    year_shock = rng.normal(0, 0.015, Y)[None, :]
    growth = (0.10 + 0.01 * east + year_shock + rng.normal(0, 0.03, (nc, Y))
              + S004_GROWTH["entrepreneurial"] * ent_present + S004_GROWTH["other"] * other_present)
    growth[:, 0] = 0.0
    gdp = np.exp(lg0[:, None] + np.log(pop0)[:, None] + np.cumsum(growth, axis=1))  # 元 x 万人
    urban = 5200 * np.exp(0.35 * zc[:, None] + rng.normal(0, 0.12, (nc, 1))
                          + rng.normal(0.085, 0.01, (nc, 1)) * t + rng.normal(0, 0.02, (nc, Y)))
    rural = 2300 * np.exp(0.5 * zc[:, None] + rng.normal(0, 0.15, (nc, 1))
                          + rng.normal(0.06, 0.012, (nc, 1)) * t + rng.normal(0, 0.025, (nc, Y))
                          + S004_RURAL_INCOME["entrepreneurial"] * ent_present
                          + S004_RURAL_INCOME["other"] * other_present)
    panel = pd.DataFrame({
        "county_id": np.repeat(counties.index.to_numpy(), Y), "year": np.tile(years, nc),
        "gdp": gdp.ravel(), "pop_registered": pop.ravel(), "urban_income": urban.ravel(),
        "rural_income": rural.ravel(),
        "cluster": present.ravel().astype(int), "entrepreneurial_cluster": ent_present.ravel()
        .astype(int)})
    firms = _firms(seed, sc, counties, years, gdp[:, 0], clusters)
    return CountyWorld(panel, firms, _s004_truth(counties, years, clusters, firms))


def _clusters(rng, counties: pd.DataFrame, years) -> dict:
    """Which counties get a cluster, of which industry, from which year, of which kind."""
    nc = len(counties)
    has = rng.random(nc) < S004_CLUSTER_SHARE
    entrepreneurial = has & (rng.random(nc) < S004_ENTREPRENEURIAL_SHARE)
    preexisting = rng.random(nc) < S004_PREEXISTING_SHARE
    start = np.where(preexisting, years[0],
                     rng.integers(S004_EMERGENCE_YEARS[0], S004_EMERGENCE_YEARS[1] + 1, nc))
    start = np.where(has, start, 10_000)
    codes = np.array(cic_codes())
    divisions = np.array([int(c[:2]) for c in codes])
    ent_pool = codes[np.isin(divisions, ENTREPRENEURIAL_DIVISIONS)]
    other_pool = codes[np.isin(divisions, OTHER_CLUSTER_DIVISIONS)]
    industry = np.where(entrepreneurial, rng.choice(ent_pool, nc), rng.choice(other_pool, nc))
    industry = np.where(has, industry, "")
    size = rng.uniform(*S004_CLUSTER_FIRMS, nc)
    return {"has": has, "entrepreneurial": entrepreneurial, "start": start,
            "industry": industry, "size": size}


def _entrants(rng, stock: np.ndarray, exit_rate: float) -> np.ndarray:
    """Entrant counts per county and year that keep an expected firm stock, given exits."""
    expected = stock.copy()
    expected[:, 1:] = np.maximum(stock[:, 1:] - (1 - exit_rate) * stock[:, :-1],
                                 0.03 * stock[:, 1:])
    expected[stock <= 0] = 0.0
    return rng.poisson(expected)


def _firms(seed, sc: Scale, counties: pd.DataFrame, years, gdp0, clusters) -> pd.DataFrame:
    """Firm-year records: incumbents and entrants of every county, plus cluster firms.

    Normal firms draw their 4-digit industry from a national Zipf-like distribution (90%) or
    from their county's three specialties (10%). From a cluster's start,
    many firms of the cluster industry enter: small private ones (entrepreneurial clusters) or
    large state, foreign and corporate ones (other clusters).
    """
    rng = world_rng(seed, 21)
    nc, Y = len(counties), len(years)
    codes = np.array(cic_codes())
    popularity = 1 / np.arange(1, len(codes) + 1) ** 0.8
    popularity = popularity[rng.permutation(len(codes))]
    popularity /= popularity.sum()
    specialties = rng.choice(len(codes), (nc, 3), p=popularity)

    size = np.exp(0.6 * (np.log(gdp0) - np.log(gdp0).mean()) + rng.normal(0, 0.5, nc))
    size /= size.mean()
    trend = 1.075 ** (np.arange(Y) - (Y - 1) / 2)
    stock = sc.firms_per_county * size[:, None] * trend[None, :]
    normal_new = _entrants(rng, stock, FIRM_EXIT["normal"])

    e = np.arange(Y)[None, :] - (clusters["start"] - years[0])[:, None]
    # A cluster is there in full from its start year (then grows 5% a year), so the firm records
    # show it from the year its effects start: no planted effect before the measured emergence.
    ramp = np.where(e >= 0, 1.05 ** np.maximum(e, 0), 0.0)
    cluster_stock = np.maximum(clusters["size"] * stock[:, 0], S004_MIN_CLUSTER_FIRMS)[:, None] \
        * ramp
    cluster_new = _entrants(rng, cluster_stock, FIRM_EXIT["cluster"])

    def expand(counts):
        county, year = np.nonzero(counts)
        reps = counts[county, year]
        return np.repeat(county, reps), np.repeat(year, reps)

    nc_idx, ny_idx = expand(normal_new)
    kc_idx, ky_idx = expand(cluster_new)
    county = np.concatenate([nc_idx, kc_idx])
    first = np.concatenate([ny_idx, ky_idx])
    in_cluster = np.concatenate([np.zeros(len(nc_idx), bool), np.ones(len(kc_idx), bool)])
    n = len(county)
    exit_rate = np.where(in_cluster, FIRM_EXIT["cluster"], FIRM_EXIT["normal"])
    last = np.minimum(first + rng.geometric(exit_rate) - 1, Y - 1)

    specialty = rng.random(n) < SPECIALTY_SHARE
    industry = np.where(specialty, specialties[county, rng.integers(0, 3, n)],
                        rng.choice(len(codes), n, p=popularity))
    code_pos = {c: i for i, c in enumerate(codes)}
    cluster_code = np.array([code_pos.get(c, -1) for c in clusters["industry"]])
    industry = np.where(in_cluster, cluster_code[county], industry)
    entrepreneurial = in_cluster & clusters["entrepreneurial"][county]
    other = in_cluster & ~entrepreneurial

    share = np.where(first == 0, 0.0, first / max(Y - 1, 1))[:, None]
    probs = (1 - share) * np.array(REGISTRATION_1998) + share * np.array(REGISTRATION_2007)
    probs /= probs.sum(axis=1, keepdims=True)
    reg_codes = np.array(REGISTRATION_CODES)
    reg_pos = {c: i for i, c in enumerate(REGISTRATION_CODES)}
    reg = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    reg = reg.clip(max=len(REGISTRATION_CODES) - 1)
    private = np.array([reg_pos[c] for c in PRIVATE_CODES])
    reg = np.where(entrepreneurial, rng.choice(private, n, p=[0.2, 0.05, 0.65, 0.1]), reg)
    large = np.array([reg_pos[c] for c in ("110", "151", "159", "160", "310", "330", "230")])
    reg = np.where(other, rng.choice(large, n, p=[0.2, 0.1, 0.2, 0.2, 0.1, 0.15, 0.05]), reg)
    state_owned = np.isin(reg_codes[reg], STATE_CODES)
    state = state_owned | (reg_codes[reg] == "120")

    log_emp = np.log(120) + 0.9 * rng.standard_normal(n) + np.log(2.5) * state_owned
    log_emp = np.where(entrepreneurial, np.log(45) + 0.5 * rng.standard_normal(n), log_emp)
    log_emp = np.where(other, np.log(600) + 0.6 * rng.standard_normal(n), log_emp)
    log_prod = np.log(180) + 0.6 * rng.standard_normal(n)
    log_prod = np.where(entrepreneurial, np.log(220) + 0.4 * rng.standard_normal(n), log_prod)
    age = np.where(first == 0, np.floor(rng.exponential(np.where(state, 15, 6))),
                   np.floor(rng.exponential(1.5, n)))
    opened = np.maximum(years[first] - age, 1949).astype(int)

    span = last - first + 1
    row_firm = np.repeat(np.arange(n), span)
    offset = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
    row_year = first[row_firm] + offset
    m = len(row_firm)
    emp = np.maximum(np.round(np.exp(log_emp[row_firm] + rng.normal(0, 0.08, m))), 8)
    output = np.exp(np.log(emp) + log_prod[row_firm] + 0.09 * row_year + rng.normal(0, 0.1, m))
    floor = ASIF_THRESHOLD_K_YUAN * (1 + 0.3 * rng.random(m))
    output = np.where(state[row_firm], output, np.maximum(output, floor))
    emp = np.where(rng.random(m) < 0.003, np.nan, emp)

    number, ids = _firm_ids(rng, n)
    order = np.lexsort((number[row_firm], county[row_firm], row_year))
    row_firm, row_year = row_firm[order], row_year[order]
    firm_county = county[row_firm]
    return pd.DataFrame({
        "法人代码": pd.Categorical.from_codes(row_firm, ids),
        "行政区划代码": pd.Categorical.from_codes(firm_county, counties.index.astype(str)),
        "行业代码": pd.Categorical.from_codes(industry[row_firm], codes),
        "年份": years[row_year],
        "工业总产值(千元)": np.round(output[order], 0), "从业人数": emp[order],
        "开业年份": opened[row_firm],
        "登记注册类型": pd.Categorical.from_codes(reg[row_firm], reg_codes)})


def _firm_ids(rng, n: int) -> tuple[np.ndarray, list[str]]:
    """Distinct 9-character legal-person codes (eight digits and a check character), with the
    eight-digit numbers they start with."""
    ids = np.empty(0, dtype=np.int64)
    while len(ids) < n:
        draw = rng.integers(10_000_000, 100_000_000, int(n * 1.1) + 16)
        ids = pd.unique(np.concatenate([ids, draw]))
    ids = ids[:n]
    digits = (ids[:, None] // 10 ** np.arange(7, -1, -1)) % 10
    check = (11 - (digits * np.array([3, 7, 9, 10, 5, 8, 4, 2])).sum(axis=1) % 11) % 11
    return ids, [f"{i}{'X' if c == 10 else c}" for i, c in zip(ids.tolist(), check.tolist())]


def _s004_truth(counties: pd.DataFrame, years, clusters: dict, firms: pd.DataFrame) -> dict:
    has = clusters["has"]
    ids = counties.index.to_numpy()
    listed = [{"county_id": str(c), "industry": str(ind), "start_year": int(s),
               "entrepreneurial": bool(e)}
              for c, h, ind, s, e in zip(ids, has, clusters["industry"], clusters["start"],
                                         clusters["entrepreneurial"]) if h]
    return {
        "unit": "county-year",
        "years": [int(years[0]), int(years[-1])],
        "clusters": listed,
        "n_clusters": len(listed),
        "n_entrepreneurial": int(clusters["entrepreneurial"].sum()),
        "firm_rows": int(len(firms)),
        "estimands": {
            "cluster_on_growth": {
                "sign": "+", "value": S004_GROWTH,
                "how": "annual log GDP growth of a county is higher by the value from its "
                       "cluster's start year on (entrepreneurial clusters more than others); "
                       f"{S004_PREEXISTING_SHARE:.0%} of clusters already exist in "
                       f"{int(years[0])}, the rest start in {S004_EMERGENCE_YEARS[0]}-"
                       f"{S004_EMERGENCE_YEARS[1]}"},
            "entrepreneurial_minus_other_growth": {
                "sign": "+", "value": S004_GROWTH["entrepreneurial"] - S004_GROWTH["other"],
                "how": "difference of the two growth effects"},
            "entrepreneurial_cluster_on_rural_income": {
                "sign": "+", "value": S004_RURAL_INCOME["entrepreneurial"],
                "how": "log rural per-capita net income steps up by the value from the start "
                       "year of an entrepreneurial cluster"},
            "cluster_on_urban_income": {"sign": "0", "value": 0.0,
                                        "how": "urban disposable income is not planted"},
            "entrepreneurial_cluster_on_income_gap": {
                "sign": "-", "value": -S004_RURAL_INCOME["entrepreneurial"],
                "how": "the log urban-rural income gap narrows by the rural income step; the "
                       "urban/rural ratio falls by the same share"},
            "other_cluster_on_income_gap": {"sign": "0", "value": 0.0,
                                            "how": "non-entrepreneurial clusters leave incomes "
                                                   "alone"},
            "cluster_in_firm_records": {
                "sign": "+", "value": list(S004_CLUSTER_FIRMS),
                "how": "from its start a cluster county gains a stock of firms of its single "
                       "4-digit industry equal to U(0.5,1.0) of its first-year normal firm stock, "
                       f"at least {S004_MIN_CLUSTER_FIRMS} firms (all of it in "
                       "the first year, then growing 5% a year); "
                       "entrepreneurial cluster firms are private (171-174) with median 45 "
                       "employees, other cluster firms state, corporate or foreign with median "
                       "600 employees; normal firms draw industries from a national "
                       "distribution (90%) or three county specialties (10%)"},
        },
    }


def planted_component(truth: dict, county_year: pd.DataFrame, outcome: str) -> np.ndarray:
    """What the planted clusters add to ``outcome`` (``gdp_growth``, ``log_rural_income``,
    ``log_urban_income`` or ``log_income_gap``) in each row of ``county_year`` (columns
    ``county_id``, ``year``), from the S004 truth: a study's estimate on indicators of the
    clusters differs from this component projected on those indicators by noise only."""
    clusters = pd.DataFrame(truth["clusters"]).set_index("county_id")
    start = county_year["county_id"].map(clusters["start_year"]).to_numpy(float)
    kind = county_year["county_id"].map(clusters["entrepreneurial"]).fillna(False).to_numpy(bool)
    present = county_year["year"].to_numpy(float) >= np.nan_to_num(start, nan=np.inf)
    entrepreneurial, other = (present & kind).astype(float), (present & ~kind).astype(float)
    est = truth["estimands"]
    growth = est["cluster_on_growth"]["value"]
    rural = est["entrepreneurial_cluster_on_rural_income"]["value"]
    components = {"gdp_growth": growth["entrepreneurial"] * entrepreneurial
                  + growth["other"] * other,
                  "log_rural_income": rural * entrepreneurial,
                  "log_urban_income": 0.0 * entrepreneurial,
                  "log_income_gap": -rural * entrepreneurial}
    if outcome not in components:
        raise ValueError(f"no planted S004 component for {outcome!r}; expected one of "
                         f"{sorted(components)}")
    return components[outcome]

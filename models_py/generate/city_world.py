"""The latent city, province and national panel behind the yearbook, EPS and policy-text files,
with the planted effects of studies S000, S001 and S002.

Every city follows the shared latent path of :mod:`models_py.generate.latent` (GDP per capita and
resident population); this module adds, in order:

1. S000: a province-level digital-infrastructure trend ``DI_pt = r_p * (year - 2013)`` (log
   broadband subscribers per 100 residents, relative to 2013) with a province-specific rate
   ``r_p``. Within each province the cities' 2013 log GDP per capita deviations from the
   population-weighted province mean shrink so that the population-weighted Theil index falls
   by ``slope_p`` per unit of ``DI_pt``: where digital infrastructure grows faster, GDP per
   capita converges faster. ``slope_p`` is larger in more urbanized provinces. Patents and the
   tertiary share rise with ``DI_pt`` (the mechanisms).
2. S002: a national growth cycle ``c_t``; each city's log GDP per capita deviates from its trend
   by ``lambda_i * C_t + sigma_i * e_it`` (``C_t`` the cumulated cycle), so its growth is
   ``lambda_i * c_t`` plus idiosyncratic noise. From the year a city becomes a cross-border
   e-commerce pilot its loading moves toward 1 and its idiosyncratic volatility falls, both by a
   share that scales with the intensity of its supply-, environment- and demand-oriented policy
   tools (the keyword rates of its policy texts).
3. S001: from its policy year a big data pilot city raises the components of the urban
   economic resilience index (not GDP per capita, not GDP growth); the gain is planted in full
   for large cities (resident population >= 500万 in 2012), weakly below, and scales with the
   city's intellectual property protection and policy implementation capacity. Cities near
   treated cities get a spillover in proportion to the inverse-distance-weighted share of
   treated sample cities within 300 km. Talent share and new digital firms rise in
   every pilot city; 1984 telephone density is higher in pilot cities (the instrument).

Everything else is noise independent of treatment. The panel holds every variable in the unit of
the first catalog row of its indicator (万元, 万人, 元, %, 万美元, ...); the file writers convert
to the unit of each edition.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_py import reference
from models_py.generate import latent as latent_mod
from models_py.generate.mrio_world import great_circle_km
from models_py.generate.scale import Scale

STREAM = 41  # random streams of this module: np.random.default_rng([seed, STREAM, k])
YEARBOOK_LEVELS = ("municipality", "prefecture_city")
INTERNET_YEARS = tuple(range(2009, 2024))
URBAN_SLOPE = 0.7  # logit urbanization per unit of standardized development
TELEPHONE_YEAR = 1984

# --- S000: digital infrastructure -> intra-provincial balance --------------------------------
S000_YEARS = (2013, 2022)
S000_BASE_YEAR = 2013
S000_RATE_RANGE = (0.06, 0.18)      # annual growth of log broadband per 100 residents
S000_THEIL_SLOPE = {"high": 0.009, "low": 0.006}  # Theil fall per unit of DI, by urbanization
S000_THEIL_FLOOR = 0.05             # the Theil index falls to at most this share of its 2013 value
S000_PATENTS = 0.50                 # log patents per unit of DI
S000_TERTIARY_PP = 6.0              # tertiary share (pp) per unit of DI; secondary falls as much

# --- S001: big data pilot zones -> urban economic resilience ----------------------------------
S001_YEARS = (2012, 2023)
S001_LARGE_POP = 500.0              # 万人, resident population in 2012
# Gain of each planted ratio, in medians of that year's ratio, per unit of exposure.
S001_RATIO_EFFECTS = {
    "exports": 0.45, "imports": 0.45, "unemployment_insured": 0.45, "household_savings": 0.45,
    "retail_sales": 0.45, "fiscal_revenue": 0.30, "loans": 0.45, "hospital_beds": 0.40,
    "education_expenditure": 0.40, "science_expenditure": 0.60, "college_students": 0.45,
    "patents_granted": 0.50, "patent_applications": 0.50,
}
S001_PP_EFFECTS = {"urbanization_rate": 5.0, "share_tertiary": 5.0}  # percentage points
S001_SMALL_SHARE = 0.15             # share of the large-city effect planted in smaller cities
S001_HET_SLOPE = {"ip_protection_index": 0.3, "policy_capacity_index": 0.3}
S001_HET_CLIP = (0.4, 1.8)
S001_SPILL_SHARE = 0.60             # spillover of a city whose neighbours are all treated
S001_SPILL_KM = 300.0
S001_TALENT = 0.011                 # talent share, absolute
S001_DIGITAL_FIRMS = 0.204          # log new digital firms
S001_TEL_PILOT = 0.60               # log 1984 telephones per 100, pilot cities

# --- S002: cross-border e-commerce pilots -> business-cycle synchronization ------------------
S002_LOADING_RANGE = (0.6, 1.4)     # city loadings on the national cycle
S002_SIGMA_RANGE = (0.01, 0.02)     # idiosyncratic sd of log GDP per capita
S002_SHRINK = 0.40                  # share of (loading - 1) and of volatility removed, per unit m
S002_SHRINK_MAX = 0.80
S002_TOOL_LOG_MEAN, S002_TOOL_LOG_SD = np.log(2.5), 0.5  # keywords per document, by tool type
S002_TOOL_MEAN = float(np.exp(S002_TOOL_LOG_MEAN + S002_TOOL_LOG_SD ** 2 / 2))
TOOL_TYPES = ("supply", "environment", "demand")

# Variables the S001 entropy index is built from, with the direction each enters.
RESILIENCE_COMPONENTS = {
    "resistance": ["gdp_per_capita", "trade_dependence", "ui_coverage", "savings_per_capita",
                   "urbanization_rate"],
    "adaptation": ["retail_per_capita", "gdp_growth", "fiscal_self_sufficiency", "loans_to_gdp",
                   "beds_per_10k"],
    "innovation": ["edu_sci_share", "tertiary_to_secondary", "students_per_10k",
                   "patents_per_10k"],
}


def _rng(seed: int, k: int) -> np.random.Generator:
    return np.random.default_rng([seed, STREAM, k])


@dataclass
class CityWorld:
    """The latent panel and what the file writers and the truth need from it.

    ``panel``: one row per city and year (every city of the scale, ``sc.city_years``), canonical
    variables. ``cities``: one row per city (roster facts, treatment, 1984 telephones).
    ``provinces``: province-year EPS series. ``internet_users``: national series (万人).
    ``pilots``: cross-border e-commerce pilot cities with their policy-tool rates.
    """
    panel: pd.DataFrame
    cities: pd.DataFrame
    provinces: pd.DataFrame
    internet_users: pd.Series
    pilots: pd.DataFrame
    truth: dict


def theil(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Theil index: sum_i s_i (y_i/mu) ln(y_i/mu), s_i population shares,
    mu the population-weighted mean."""
    s = weights / weights.sum()
    ratio = values / (s * values).sum()
    return float((s * ratio * np.log(ratio)).sum())


def development(lat: pd.DataFrame) -> np.ndarray:
    """Standardized 2012 log GDP per capita of each city (persistent development level)."""
    return ((lat["log_gdppc_2012"] - 10.9) / 0.4).to_numpy()


def first_policy_years(table: str, city_ids) -> dict[str, int]:
    """First treated year of each city of a pilot table (``policy_year`` of its earliest
    approval), for the cities in ``city_ids``."""
    t = reference.table(table).sort_values("approval_date").drop_duplicates("city_id")
    t = t[t["city_id"].isin(set(city_ids))]
    return {c: reference.policy_year(d) for c, d in zip(t["city_id"], t["approval_date"])}


def build_city_world(sc: Scale, latent: pd.DataFrame, seed: int,
                     s001_null: bool = False) -> CityWorld:
    """The full latent city world for a scale, deterministic for a seed. ``s001_null`` plants
    no S001 effect (the null variant): the same world, draw for draw, without the pilot
    zones' effects."""
    lat = latent.set_index("city_id").loc[list(sc.city_ids)].reset_index()
    roster = reference.cities().set_index("city_id").loc[list(sc.city_ids)]
    years = np.asarray(sc.city_years)
    base_lg = np.log(np.column_stack([latent_mod.gdppc(lat, y) for y in years]))
    pop = np.column_stack([latent_mod.population(lat, y) for y in years])
    z = development(lat)[:, None]
    in_yearbook = roster["level"].isin(YEARBOOK_LEVELS).to_numpy()

    digital = _s000_digital(seed, lat, roster, years, pop, base_lg, in_yearbook)
    cycle = _s002_cycle(seed, lat, years)
    lg = digital["converged_lg"] + cycle["level_deviation"]
    s001 = _s001_exposure(seed, lat, roster, years, z, planted=not s001_null)
    inputs = dict(seed=seed, lat=lat, roster=roster, years=years, pop=pop, lg=lg,
                  digital=digital, s001=s001)
    panel = _panel(**inputs, exposure=s001["exposure"])
    counterfactual = _panel(**inputs, exposure=np.zeros_like(s001["exposure"]))

    cities = pd.DataFrame({
        "city_id": lat["city_id"], "city_name": roster["city_name"].to_numpy(),
        "short_name": roster["short_name"].to_numpy(), "province_id": lat["province_id"],
        "province_name": roster["province_name"].to_numpy(), "level": roster["level"].to_numpy(),
        "valid_from": roster["valid_from"].to_numpy(), "valid_to": roster["valid_to"].to_numpy(),
        "in_s001": roster["in_s001"].to_numpy(),
        "telephones_per_100_1984": s001["telephones"],
    })
    provinces = _province_series(seed, cities, panel, years)
    internet = _internet_users(seed)
    truth = {
        "S000": digital["truth"],
        "S001": _s001_truth(s001, cities, panel, counterfactual, internet),
        "S002": cycle["truth"],
    }
    return CityWorld(panel, cities, provinces, internet, cycle["pilots"], truth)


def _panel(seed, lat, roster, years, pop, lg, digital, s001, exposure) -> pd.DataFrame:
    """Every canonical city-year variable, given the S001 exposure (in units of the large-city
    effect). The random draws do not depend on the exposure, so a zero exposure gives the
    same world without the S001 effects."""
    n, T = pop.shape
    z = development(lat)[:, None]
    capital = np.array([c[2:4] == "01" for c in lat["city_id"]])[:, None]
    municipality = (roster["level"] == "municipality").to_numpy()[:, None]
    east = (lat["region"] == "east").to_numpy()[:, None]
    rng = _rng(seed, 2)
    t = (years - years[0])[None, :]

    def ratio(log_mean, beta=0.0, sd_city=0.0, sd_year=0.0, trend=0.0):
        return np.exp(log_mean + beta * z + sd_city * rng.standard_normal((n, 1))
                      + trend * t + sd_year * rng.standard_normal((n, T)))

    def planted(key, base_ratio):
        """A ratio with the S001 gain added: effect x exposure x the year's median ratio."""
        median = np.median(base_ratio, axis=0, keepdims=True)
        return base_ratio + S001_RATIO_EFFECTS[key] * exposure * median

    fx = reference.usd_cny()
    fx_t = np.array([fx[int(y)] for y in years])[None, :]

    v: dict[str, np.ndarray] = {}
    v["pop_resident"] = pop
    v["pop_registered"] = pop * ratio(0.0, sd_city=0.05, sd_year=0.004)
    v["gdp_per_capita"] = np.exp(lg)
    v["gdp"] = v["gdp_per_capita"] * pop                      # 元 x 万人 = 万元
    urban_share = 1 / (1 + np.exp(-(0.2 + 0.5 * z + 0.6 * rng.standard_normal((n, 1)))))
    urban_share = np.where(municipality, 0.9, urban_share)
    v["gdp_urban"] = v["gdp"] * np.clip(urban_share * ratio(0.0, sd_year=0.01), 0.05, 0.98)
    v["pop_registered_urban"] = v["pop_registered"] * np.clip(
        0.85 * urban_share * ratio(0.0, sd_year=0.005), 0.04, 0.97)

    primary = np.clip(11 - 4 * z + 3 * rng.standard_normal((n, 1)) - 0.3 * t
                      + 0.3 * rng.standard_normal((n, T)), 0.5, 35)
    tertiary_frac = 1 / (1 + np.exp(-(-0.25 + 0.25 * z + 0.3 * rng.standard_normal((n, 1))
                                      + 0.035 * t + 0.02 * rng.standard_normal((n, T)))))
    tertiary = (100 - primary) * tertiary_frac
    tertiary = tertiary + S000_TERTIARY_PP * digital["di_city"] \
        + S001_PP_EFFECTS["share_tertiary"] * exposure
    tertiary = np.minimum(tertiary, 100 - primary - 8)
    v["share_tertiary"] = tertiary
    v["share_secondary"] = 100 - primary - tertiary

    gdp = v["gdp"]
    v["fiscal_expenditure"] = gdp * ratio(np.log(0.17), -0.25, 0.25, 0.04)
    v["fiscal_revenue"] = gdp * planted("fiscal_revenue", ratio(np.log(0.08), 0.15, 0.2, 0.05))
    v["education_expenditure"] = v["fiscal_expenditure"] * planted(
        "education_expenditure", ratio(np.log(0.15), 0.0, 0.1, 0.04))
    v["science_expenditure"] = v["fiscal_expenditure"] * planted(
        "science_expenditure", ratio(np.log(0.022), 0.35, 0.3, 0.08))
    usd = gdp / fx_t                                          # 万美元
    v["fdi"] = usd * ratio(np.log(0.012) + 0.5 * east, 0.3, 0.6, 0.15)
    v["exports"] = usd * planted("exports", ratio(np.log(0.07) + 0.9 * east, 0.4, 0.6, 0.08))
    v["imports"] = usd * planted("imports", ratio(np.log(0.045) + 0.8 * east, 0.4, 0.7, 0.08))
    v["college_students"] = pop * 1e4 * planted(
        "college_students", ratio(np.log(0.012) + 1.2 * capital, 0.5, 0.5, 0.03, 0.03))
    v["employment_urban_units"] = pop * ratio(np.log(0.12), 0.3, 0.2, 0.03)
    emp = v["employment_urban_units"]
    v["unemployed_registered"] = emp * 1e4 * ratio(np.log(0.03), 0.0, 0.25, 0.08)
    v["unemployment_insured"] = emp * 1e4 * planted(
        "unemployment_insured", ratio(np.log(0.6), 0.1, 0.15, 0.04, 0.02))
    v["household_savings"] = gdp * planted("household_savings",
                                           ratio(np.log(0.75), 0.0, 0.2, 0.04, 0.02))
    v["loans"] = gdp * planted("loans", ratio(np.log(1.0), 0.2, 0.3, 0.04, 0.03))
    v["retail_sales"] = gdp * planted("retail_sales", ratio(np.log(0.38), 0.0, 0.12, 0.04))
    v["hospital_beds"] = pop * planted("hospital_beds", ratio(np.log(45), 0.1, 0.15, 0.03, 0.035))
    v["broadband_subscribers"] = digital["broadband"]
    v["mobile_subscribers"] = digital["mobile"]
    v["telecom_volume"] = digital["telecom"]
    v["avg_wage"] = 36000 * np.exp(0.085 * t) * ratio(0.0, 0.25, 0.08, 0.03)
    v["industrial_fixed_assets"] = gdp * v["share_secondary"] / 100 * ratio(np.log(1.1), 0, 0.3,
                                                                            0.06)
    v["industrial_current_assets"] = gdp * v["share_secondary"] / 100 * ratio(np.log(1.0), 0,
                                                                              0.3, 0.06)
    patents = ratio(np.log(3.0), 1.0, 0.5, 0.08, 0.09) * np.exp(S000_PATENTS * digital["di_city"])
    v["patents_granted"] = pop * planted("patents_granted", patents)
    v["patent_applications"] = pop * planted("patent_applications",
                                             patents * ratio(np.log(1.8), 0, 0.1, 0.08))
    urbanization = 100 / (1 + np.exp(-(0.3 + URBAN_SLOPE * z + 0.4 * rng.standard_normal((n, 1))
                                       + 0.06 * t + 0.02 * rng.standard_normal((n, T)))))
    v["urbanization_rate"] = np.clip(urbanization + S001_PP_EFFECTS["urbanization_rate"] * exposure,
                                     18.0, 99.5)
    v["land_area"] = np.repeat(np.clip(np.exp(np.log(12000) + 0.6 * rng.standard_normal((n, 1))),
                                       800, 120000), T, axis=1)

    # EPS city series
    talent_it = 0.018 * ratio(0.0, 0.3, 0.25, 0.04)
    talent_rs = 0.022 * ratio(0.0, 0.3, 0.25, 0.04)
    treated_post = s001["treated_post"]
    v["employment_it"] = emp * (talent_it + 0.5 * S001_TALENT * treated_post)
    v["employment_research"] = emp * (talent_rs + 0.5 * S001_TALENT * treated_post)
    v["new_digital_firms"] = pop * ratio(np.log(1.0), 0.8, 0.4, 0.10, 0.12) \
        * np.exp(S001_DIGITAL_FIRMS * treated_post)
    v["ip_protection_index"] = np.clip(60 + 10 * s001["z_ip"][:, None] + 0.8 * (years - 2012)
                                       + 1.5 * rng.standard_normal((n, T)), 5, 99)
    v["policy_capacity_index"] = np.clip(55 + 10 * s001["z_pc"][:, None] + 0.6 * (years - 2012)
                                         + 1.5 * rng.standard_normal((n, T)), 5, 99)

    panel = pd.DataFrame({"city_id": np.repeat(lat["city_id"].to_numpy(), T),
                          "year": np.tile(years, n)})
    for name, arr in v.items():
        panel[name] = arr.reshape(-1)
    return panel


# --- S000 ------------------------------------------------------------------------------------

def _s000_digital(seed, lat, roster, years, pop, base_lg, in_yearbook) -> dict:
    """Province digital-infrastructure trends, the convergence they drive, and the city-level
    broadband, mobile and telecom series that reveal them."""
    rng = _rng(seed, 3)
    prov = lat["province_id"].to_numpy()
    provinces = sorted(set(prov))
    rate = dict(zip(provinces, rng.uniform(*S000_RATE_RANGE, len(provinces))))
    level = dict(zip(provinces, rng.normal(0.0, 0.2, len(provinces))))
    n, T = base_lg.shape
    r = np.array([rate[p] for p in prov])[:, None]
    lvl = np.array([level[p] for p in prov])[:, None]
    di = r * (years - S000_BASE_YEAR)[None, :]              # DI_pt, copied to each city

    # Province urbanization in the base year decides the convergence class.
    z = development(lat)
    base_urban = 1 / (1 + np.exp(-(0.3 + URBAN_SLOPE * z + 0.06 * (S000_BASE_YEAR - years[0]))))
    base_col = list(years).index(S000_BASE_YEAR)
    pop0 = pop[:, base_col]
    urban_p = {p: float(np.average(base_urban[prov == p], weights=pop0[prov == p]))
               for p in provinces}
    n_yearbook = {p: int(((prov == p) & in_yearbook).sum()) for p in provinces}
    municipalities = set(roster.loc[roster["level"] == "municipality", "province_id"])
    s000_prov = [p for p in provinces if n_yearbook[p] >= 2 and p not in municipalities]
    median_urban = float(np.median([urban_p[p] for p in s000_prov])) if s000_prov else 0.0
    klass = {p: ("high" if urban_p[p] > median_urban else "low") for p in provinces}

    lam = np.array([S000_THEIL_SLOPE[klass[p]] for p in prov])[:, None]
    converged = base_lg.copy()
    theil0 = {}
    for p in provinces:
        rows = prov == p
        members = rows & in_yearbook
        if members.sum() < 2:
            continue
        mean = np.average(base_lg[members], axis=0, weights=pop[members].mean(axis=1))
        dev0 = base_lg[rows, base_col:base_col + 1] - mean[base_col]
        theil0[p] = theil(np.exp(base_lg[members, base_col]), pop[members, base_col])
        share = np.maximum(1 - lam[rows][:1] * di[rows][:1] / theil0[p], S000_THEIL_FLOOR)
        converged[rows] = mean[None, :] + dev0 * np.sqrt(share)
    lg2012 = base_lg[:, list(years).index(latent_mod.BASE_YEAR)]
    dev = (lg2012 - pd.Series(lg2012).groupby(prov).transform("mean").to_numpy())[:, None]
    city_off = 0.5 * dev + 0.1 * rng.standard_normal((n, 1))
    noise = lambda sd: sd * rng.standard_normal((n, T))  # noqa: E731
    broadband = pop / 100 * np.exp(np.log(13) + lvl + di + city_off + noise(0.04))
    mobile = pop / 100 * np.exp(np.log(88) + 0.2 * lvl + 0.35 * di + 0.5 * city_off + noise(0.03))
    telecom = pop * np.exp(np.log(800) + lvl + 1.5 * di + city_off + noise(0.05))

    truth = {
        "unit": "province-year",
        "years": list(S000_YEARS),
        "provinces": s000_prov,
        "estimands": {
            "digital_infrastructure_on_balance": {
                "sign": "+", "value": S000_THEIL_SLOPE,
                "how": "DI_pt = r_p*(year-2013) is the log of broadband subscribers per 100 "
                       "residents relative to 2013 (mobile subscribers move 0.35*DI, telecom "
                       "volume per capita 1.5*DI). Within each province (>= 2 yearbook cities) "
                       "every city's 2013 log GDP per capita deviation from the population-"
                       "weighted province mean is scaled by sqrt(q_pt), q_pt = max(1 - "
                       "slope_p*DI_pt/T_p2013, 0.05), on top of the province's mean latent "
                       "path: the population-weighted Theil index of city GDP per capita falls "
                       "by about slope_p per unit of DI (balance rises where digital "
                       "infrastructure grows faster). 三沙市 has no yearbook values; 儋州市 "
                       "(2015) and 莱芜市 (until 2018) change the city sets of their provinces.",
            },
            "heterogeneity_urbanization": {
                "sign": "+", "value": round(S000_THEIL_SLOPE["high"] - S000_THEIL_SLOPE["low"], 6),
                "how": f"slope_p = {S000_THEIL_SLOPE['high']:g} in provinces whose 2013 "
                       "urbanization is above the median of the S000 provinces, "
                       f"{S000_THEIL_SLOPE['low']:g} below",
            },
            "mechanism_patents": {
                "sign": "+", "value": S000_PATENTS,
                "how": f"log patents granted and applied += {S000_PATENTS:g}*DI_pt in every "
                       "city",
            },
            "mechanism_industrial_upgrading": {
                "sign": "+", "value": S000_TERTIARY_PP,
                "how": f"tertiary share += {S000_TERTIARY_PP:g} pp * DI_pt, secondary share "
                       f"-= {S000_TERTIARY_PP:g} pp * DI_pt, so the tertiary/secondary ratio "
                       "rises with DI",
            },
            "lagged_and_iv": {"sign": "+", "value": None,
                              "how": "DI is a smooth trend: lags carry the same sign"},
        },
        "province_rate_r": {p: round(float(rate[p]), 4) for p in provinces},
        "province_urbanization_2013": {p: round(urban_p[p], 4) for p in s000_prov},
        "high_urbanization_provinces": [p for p in s000_prov if klass[p] == "high"],
        "province_theil_2013": {p: round(theil0[p], 5) for p in s000_prov if p in theil0},
    }
    return {"converged_lg": converged, "di_city": di, "broadband": broadband,
            "mobile": mobile, "telecom": telecom, "truth": truth}


# --- S002 ------------------------------------------------------------------------------------

def _s002_cycle(seed, lat, years) -> dict:
    """Growth deviations from trend: a national cycle times a loading plus idiosyncratic noise,
    pulled toward the national cycle after a city becomes a cross-border e-commerce pilot."""
    rng = _rng(seed, 4)
    ids = lat["city_id"].to_numpy()
    n, T = len(ids), len(years)
    c = rng.normal(0, 0.015, T)
    for year, shock in ((2020, -0.04), (2021, 0.03)):
        if year in years:
            c[list(years).index(year)] += shock
    c[1:] -= c[1:].mean()
    c[0] = 0.0
    loading = rng.uniform(*S002_LOADING_RANGE, n)
    sigma = rng.uniform(*S002_SIGMA_RANGE, n)
    eps = rng.standard_normal((n, T))

    py = first_policy_years("ref_cbec_pilot", ids)
    trng = _rng(seed, 5)
    pilots = reference.table("ref_cbec_pilot").sort_values("approval_date") \
        .drop_duplicates("city_id")
    pilots = pilots[pilots["city_id"].isin(set(ids))].reset_index(drop=True)
    rates = np.exp(trng.normal(S002_TOOL_LOG_MEAN, S002_TOOL_LOG_SD, (len(pilots), 3)))
    m = (rates / S002_TOOL_MEAN).mean(axis=1)
    shrink = np.minimum(S002_SHRINK * m, S002_SHRINK_MAX)
    pilots = pilots.assign(policy_year=[py[c_] for c_ in pilots["city_id"]],
                           rate_supply=rates[:, 0], rate_environment=rates[:, 1],
                           rate_demand=rates[:, 2], multiplier=m, shrink=shrink)

    shrink_i = np.zeros(n)
    start = np.full(n, 10_000)
    pos = {c_: i for i, c_ in enumerate(ids)}
    for c_, s, y in zip(pilots["city_id"], shrink, pilots["policy_year"]):
        shrink_i[pos[c_]], start[pos[c_]] = s, y
    post = years[None, :] >= start[:, None]
    keep = np.where(post, 1 - shrink_i[:, None], 1.0)
    lam = 1 + (loading[:, None] - 1) * keep
    sig = sigma[:, None] * keep
    anchor = list(years).index(latent_mod.BASE_YEAR) if latent_mod.BASE_YEAR in years else 0
    national = np.cumsum(c) - np.cumsum(c)[anchor]         # national level cycle, 0 in 2012
    level = lam * national[None, :] + sig * eps

    truth = {
        "unit": "city pair-year",
        "years": [int(years[0]), int(years[-1])],
        "treated_cities": {c_: int(y) for c_, y in zip(pilots["city_id"], pilots["policy_year"])},
        "estimands": {
            "did_synchronization": {
                "sign": "+", "value": S002_SHRINK,
                "how": "log city GDP per capita = trend + lambda_i*C_t + sigma_i*e_it, e_it iid "
                       "N(0,1), C_t the national level cycle (cumulated national growth cycle "
                       "c_t, 0 in 2012), lambda_i ~ U(0.6,1.4), sigma_i ~ U(0.01,0.02); growth "
                       "is thus trend + lambda_i*c_t + sigma_i*(e_it - e_i,t-1). "
                       "From its policy year a pilot city keeps only (1-s_i) of (lambda_i-1) and "
                       "of sigma_i, s_i = min(0.8, 0.4*m_i): growth gaps -|g_i-g_j| of pairs "
                       "with a treated member shrink (synchronization rises).",
            },
            "policy_tool_supply": {"sign": "+", "value": round(S002_SHRINK / 3, 4),
                                   "how": "m_i = mean over the three tool types of "
                                          "rate_k/E[rate]; rate_k = expected keyword count per "
                                          "document of tool type k in the city's policy texts"},
            "policy_tool_environment": {"sign": "+", "value": round(S002_SHRINK / 3, 4),
                                        "how": "as supply"},
            "policy_tool_demand": {"sign": "+", "value": round(S002_SHRINK / 3, 4),
                                   "how": "as supply"},
            "heterogeneity_and_mechanisms": {
                "sign": "0", "value": 0.0,
                "how": "region, human capital, financial development, information "
                       "infrastructure, institutional demonstration and resource reallocation "
                       "are not planted"},
        },
        "national_cycle": {int(y): round(float(x), 5) for y, x in zip(years, c)},
        "tool_rate_mean": round(S002_TOOL_MEAN, 4),
        "city_shrink": {c_: round(float(s), 4) for c_, s in zip(pilots["city_id"], shrink)},
    }
    return {"level_deviation": level, "pilots": pilots, "truth": truth}


# --- S001 ------------------------------------------------------------------------------------

def _s001_exposure(seed, lat, roster, years, z, planted: bool = True) -> dict:
    """Direct and spillover exposure to the big data pilot zones, in units of the planted
    large-city effect, plus the heterogeneity indices and the 1984 telephones.

    ``policy_post`` is 1 in a pilot city from its policy year on (the treatment timing, the
    same in both variants). ``treated_post`` is the step of the mechanism variables and
    ``exposure`` the gain of the resilience components: both zero everywhere when not
    ``planted`` (the null variant). The random draws do not depend on ``planted``."""
    rng = _rng(seed, 6)
    ids = lat["city_id"].to_numpy()
    n = len(ids)
    py = first_policy_years("ref_big_data_pilot", ids)
    pilot = np.array([c in py for c in ids])
    start = np.array([py.get(c, 10_000) for c in ids])
    policy_post = (years[None, :] >= start[:, None]).astype(float)
    zl = z[:, 0]
    z_ip = 0.5 * (zl - zl.mean()) / (zl.std() or 1) + np.sqrt(0.75) * rng.standard_normal(n)
    z_pc = 0.5 * (zl - zl.mean()) / (zl.std() or 1) + np.sqrt(0.75) * rng.standard_normal(n)
    multiplier = np.clip(1 + S001_HET_SLOPE["ip_protection_index"] * z_ip
                         + S001_HET_SLOPE["policy_capacity_index"] * z_pc, *S001_HET_CLIP)
    large = lat["pop_2012"].to_numpy() >= S001_LARGE_POP
    direct = policy_post * (np.where(large, 1.0, S001_SMALL_SHARE) * multiplier)[:, None]

    in_sample = roster["in_s001"].to_numpy() == 1
    dist = great_circle_km(lat["longitude"].to_numpy(), lat["latitude"].to_numpy())
    with np.errstate(divide="ignore"):
        near = np.where((dist > 0) & (dist <= S001_SPILL_KM) & in_sample[None, :], 1 / dist, 0.0)
    total = near.sum(axis=1, keepdims=True)
    near = np.divide(near, total, out=np.zeros_like(near), where=total > 0)
    spill = S001_SPILL_SHARE * (near @ policy_post)

    telephones = np.exp(np.log(0.6) + 0.25 * zl + S001_TEL_PILOT * pilot
                        + 0.35 * rng.standard_normal(n))
    on = 1.0 if planted else 0.0
    return {"ids": ids, "policy_year": py, "pilot": pilot, "large": large,
            "multiplier": multiplier, "z_ip": z_ip, "z_pc": z_pc, "planted": planted,
            "policy_post": policy_post, "treated_post": on * policy_post,
            "direct": on * direct, "spill": on * spill, "exposure": on * (direct + spill),
            "telephones": np.round(telephones, 3)}


def _s001_truth(s001: dict, cities: pd.DataFrame, panel: pd.DataFrame,
                counterfactual: pd.DataFrame, internet: pd.Series) -> dict:
    ids = s001["ids"]
    sample = cities["in_s001"].to_numpy() == 1
    treated = {c: int(s001["policy_year"][c]) for c, s in zip(ids, sample)
               if s and c in s001["policy_year"]}
    large_treated = [c for c, s, lg in zip(ids, sample, s001["large"])
                     if s and lg and c in treated]
    first_spill = {}
    spill = s001["spill"]
    years = np.sort(panel["year"].unique())
    for i, c in enumerate(ids):
        if sample[i] and spill[i].any():
            first_spill[c] = int(years[np.argmax(spill[i] > 0)])
    gains, effects = index_gain(panel, counterfactual, s001, cities, internet)
    truth = {
        "variant": "planted" if s001["planted"] else "null",
        "unit": "city-year",
        "years": list(S001_YEARS),
        "sample_cities": int(sample.sum()),
        "treated_cities": treated,
        "large_treated_cities": large_treated,
        "estimands": {
            "did_resilience": {
                "sign": "+", "value": S001_RATIO_EFFECTS,
                "how": "from the policy year (approval in the first half-year: that year, else "
                       "the next) a pilot city's resilience components rise by exposure E_it "
                       "times a planted gain: each level in 'value' is denominator x ratio, and "
                       "the ratio gains value x E_it x the median ratio of all cities that year "
                       "(denominators: GDP for trade, savings, loans, retail, fiscal revenue; "
                       "fiscal expenditure for education and science; population for beds, "
                       "students, patents; urban-unit employment for unemployment insurance); "
                       f"urbanization and the tertiary share gain "
                       f"{S001_PP_EFFECTS['urbanization_rate']:g} pp x E_it (the secondary share "
                       "loses as much). Direct E_it = m_i for large cities, "
                       f"{S001_SMALL_SHARE:g} x m_i below {S001_LARGE_POP:g}万; plus the "
                       "spillover below. GDP per capita and GDP growth are not planted. Implied "
                       "gains of a reference entropy index are in 'implied_index_gain'.",
            },
            "event_study_leads": {"sign": "0", "value": 0.0,
                                  "how": "no anticipation: every effect starts in the policy year"},
            "event_study_lags": {"sign": "+", "value": "step",
                                 "how": "a constant step from the policy year on"},
            "heterogeneity_large_cities": {
                "sign": "+", "value": 1.0,
                "how": f"full effect (times m_i) where resident population in 2012 >= "
                       f"{S001_LARGE_POP:g}万 (2012 年末常住人口)"},
            "heterogeneity_small_cities": {
                "sign": "+", "value": S001_SMALL_SHARE,
                "how": f"weak: {S001_SMALL_SHARE:g} of the large-city effect below "
                       f"{S001_LARGE_POP:g}万, so small-city estimates may be insignificant"},
            "heterogeneity_large_minus_small": {
                "sign": "+", "value": round(1.0 - S001_SMALL_SHARE, 6),
                "how": "difference of the two above"},
            "heterogeneity_ip_protection": {
                "sign": "+", "value": S001_HET_SLOPE["ip_protection_index"],
                "how": f"m_i = clip(1 + {S001_HET_SLOPE['ip_protection_index']:g}*z_ip + "
                       f"{S001_HET_SLOPE['policy_capacity_index']:g}*z_pc, "
                       f"{S001_HET_CLIP[0]:g}, {S001_HET_CLIP[1]:g}); z_ip is the persistent "
                       "standardized level of 知识产权保护指数 (index = 60 + 10*z_ip + 0.8*(year-"
                       "2012) + noise)"},
            "heterogeneity_policy_capacity": {
                "sign": "+", "value": S001_HET_SLOPE["policy_capacity_index"],
                "how": "as above with 政策执行能力指数 (index = 55 + 10*z_pc + 0.6*(year-2012) + "
                       "noise)"},
            "mechanism_talent_share": {
                "sign": "+", "value": S001_TALENT,
                "how": "(employment_it + employment_research)/employment_urban_units += 0.011 "
                       "in every pilot city from its policy year (half in each sector)"},
            "mechanism_log_new_digital_firms": {
                "sign": "+", "value": S001_DIGITAL_FIRMS,
                "how": "log new digital firms += 0.204 in every pilot city from its policy year"},
            "iv_first_stage": {
                "sign": "+", "value": S001_TEL_PILOT,
                "how": "log 1984 telephones per 100 = log 0.6 + 0.25*z + 0.6*pilot + N(0,0.35^2); "
                       "the instrument is telephones_1984 x previous-year national internet "
                       "users"},
            "spatial_spillover": {
                "sign": "+", "value": S001_SPILL_SHARE,
                "how": f"every city gets E_it += {S001_SPILL_SHARE:g} x sum_j w_ij D_jt (no m_i): "
                       "w_ij inverse great-circle distance to the other S001-sample cities "
                       f"within {S001_SPILL_KM:g} km, row-standardized, D_jt = 1 from city j's "
                       "policy year (a spatial lag of treatment with that weight matrix)",
                "radius_km": S001_SPILL_KM},
            "placebo": {"sign": "0", "value": 0.0,
                        "how": "random reassignment of treatment: nothing planted"},
        },
        "first_spillover_year": first_spill,
        "multiplier": {c: round(float(m), 4) for c, m, s in zip(ids, s001["multiplier"], sample)
                       if s and c in treated},
        "implied_index_gain": gains,
        "index_effects": effects,
    }
    return truth if s001["planted"] else _null_estimands(truth)


def _null_estimands(truth: dict) -> dict:
    """The truth of the null variant: every S001 effect zero. The instrument keeps its first
    stage (1984 telephones are higher in pilot cities: not an effect of the zones)."""
    for name, est in truth["estimands"].items():
        if name != "iv_first_stage":
            est.update(sign="0", value=0.0, how="null variant: not planted")
    truth["first_spillover_year"] = {}
    return truth


def resilience_components(panel: pd.DataFrame) -> pd.DataFrame:
    """The 14 indicators of the S001 resilience index per city-year (a reference definition
    of the seed's three dimensions; all enter positively). ``panel`` holds canonical
    variables of consecutive years (GDP growth needs the year before)."""
    p = panel.sort_values(["city_id", "year"])
    fx = reference.usd_cny()
    rate = p["year"].map(fx)
    out = pd.DataFrame({"city_id": p["city_id"], "year": p["year"]})
    out["gdp_per_capita"] = p["gdp_per_capita"]
    out["trade_dependence"] = (p["exports"] + p["imports"]) * rate / p["gdp"]
    out["ui_coverage"] = p["unemployment_insured"] / (p["pop_resident"] * 1e4)
    out["savings_per_capita"] = p["household_savings"] / p["pop_resident"]
    out["urbanization_rate"] = p["urbanization_rate"]
    out["retail_per_capita"] = p["retail_sales"] / p["pop_resident"]
    out["gdp_growth"] = p.groupby("city_id")["gdp"].pct_change()
    out["fiscal_self_sufficiency"] = p["fiscal_revenue"] / p["fiscal_expenditure"]
    out["loans_to_gdp"] = p["loans"] / p["gdp"]
    out["beds_per_10k"] = p["hospital_beds"] / p["pop_resident"]
    out["edu_sci_share"] = (p["education_expenditure"] + p["science_expenditure"]) \
        / p["fiscal_expenditure"]
    out["tertiary_to_secondary"] = p["share_tertiary"] / p["share_secondary"]
    out["students_per_10k"] = p["college_students"] / p["pop_resident"]
    out["patents_per_10k"] = p["patents_granted"] / p["pop_resident"]
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class EntropyFit:
    """Bounds and weights of an entropy-weight index fitted on a panel."""
    lo: pd.Series
    hi: pd.Series
    weights: pd.Series

    def score(self, components: pd.DataFrame) -> pd.Series:
        norm = (components[self.weights.index] - self.lo) / (self.hi - self.lo) + 1e-4
        return (norm * self.weights).sum(axis=1)


def entropy_fit(components: pd.DataFrame) -> EntropyFit:
    """Entropy weights of positive indicators: min-max standardization over the panel (plus
    1e-4), p = x/sum(x), e = -sum(p ln p)/ln(N), w = (1-e)/sum(1-e)."""
    cols = [c for dim in RESILIENCE_COMPONENTS.values() for c in dim]
    x = components[cols]
    lo, hi = x.min(), x.max()
    norm = (x - lo) / (hi - lo) + 1e-4
    p = norm / norm.sum()
    e = -(p * np.log(p)).sum() / np.log(len(norm))
    return EntropyFit(lo, hi, (1 - e) / (1 - e).sum())


def index_gain(panel: pd.DataFrame, counterfactual: pd.DataFrame, s001: dict,
               cities: pd.DataFrame, internet: pd.Series) -> tuple[dict, dict]:
    """What the planted component effects do to the reference entropy index (S001 sample, S001
    years), comparing the data with the same world without the S001 effects: the mean gain
    of treated city-years after the policy year and of the others (spillover only), and the
    planted effect each estimator of the study targets (:func:`index_effects`)."""
    sample_ids = set(cities.loc[cities["in_s001"] == 1, "city_id"])
    years = np.sort(panel["year"].unique())
    ids = s001["ids"]
    sub = panel[panel["city_id"].isin(sample_ids)]
    cf = counterfactual[counterfactual["city_id"].isin(sample_ids)]
    window = lambda c: c[c["year"].between(*S001_YEARS)].reset_index(drop=True)  # noqa: E731
    actual = window(resilience_components(sub))
    counter = window(resilience_components(cf))
    fit = entropy_fit(actual)
    idx = fit.score(actual)
    gain = (idx - fit.score(counter)).to_numpy()
    tp = pd.DataFrame(s001["policy_post"], index=ids, columns=years).stack()
    tp = tp.reindex(pd.MultiIndex.from_frame(actual[["city_id", "year"]])).to_numpy() > 0
    phones = dict(zip(ids, s001["telephones"]))
    frame = actual[["city_id", "year"]].assign(
        gain=gain, did=tp.astype(float),
        instrument=[phones[c] * internet.get(y - 1, np.nan)
                    for c, y in zip(actual["city_id"], actual["year"])])
    summary = {
        "treated_post_mean": round(float(gain[tp].mean()), 5) if tp.any() else 0.0,
        "untreated_mean": round(float(gain[~tp].mean()), 5),
        "index_mean": round(float(idx.mean()), 5),
        "index_sd": round(float(idx.std()), 5),
        "weights": {k: round(float(x), 5) for k, x in fit.weights.items()},
        "definition": "reference entropy index over the 14 components of "
                      "resilience_components(); a pipeline with other component definitions "
                      "gets gains of the same sign but other magnitudes",
    }
    return summary, index_effects(frame)


def _two_way_demeaned(wide: np.ndarray) -> np.ndarray:
    """A balanced city x year array minus its city and year means (plus the grand mean)."""
    return wide - wide.mean(axis=1, keepdims=True) - wide.mean(axis=0, keepdims=True) \
        + wide.mean()


def index_effects(frame: pd.DataFrame) -> dict:
    """The planted effect on the index that each estimator targets: the estimator applied to
    the noise-free gain g_it = index(data) - index(world without S001 effects), so that an
    estimate on the data equals it plus the estimator applied to the counterfactual index,
    which nothing planted moves.

    - ``twfe``: slope of g on DID with city and year fixed effects (balanced panel);
    - ``att_imputation``: city and year effects of g fitted on the untreated city-years,
      the mean of g minus the imputed value over the treated city-years (the imputation /
      two-stage DID estimand);
    - ``iv``: 2SLS slope of g on DID with city and year fixed effects, instrumented by 1984
      telephones x the previous year's internet users.
    """
    wide = lambda col: frame.pivot(index="city_id", columns="year", values=col)  # noqa: E731
    g, d, zi = wide("gain"), wide("did"), wide("instrument")
    keep = zi.notna().all(axis=1)
    gg, dd = _two_way_demeaned(g.to_numpy()), _two_way_demeaned(d.to_numpy())
    twfe = float((dd * gg).sum() / (dd * dd).sum()) if (dd * dd).sum() > 0 else 0.0
    cities = pd.get_dummies(frame["city_id"], dtype=float)
    years = pd.get_dummies(frame["year"], dtype=float).iloc[:, 1:]
    x = np.column_stack([cities.to_numpy(), years.to_numpy()])
    untreated = frame["did"].to_numpy() == 0
    coef = np.linalg.lstsq(x[untreated], frame["gain"].to_numpy()[untreated], rcond=None)[0]
    treated = ~untreated
    att = float((frame["gain"].to_numpy() - x @ coef)[treated].mean()) if treated.any() else 0.0
    gi, di = _two_way_demeaned(g[keep].to_numpy()), _two_way_demeaned(d[keep].to_numpy())
    zz = _two_way_demeaned(zi[keep].to_numpy())
    iv = float((zz * gi).sum() / (zz * di).sum())
    return {"twfe": round(twfe, 6), "att_imputation": round(att, 6), "iv": round(iv, 6),
            "how": "the estimator applied to the noise-free index gain of the planted effects "
                   "(index of the data minus index of the same world without S001 effects, "
                   "weights fitted on the data): a correctly specified estimate on the data "
                   "differs from it by noise only"}


# --- province and national series ----------------------------------------------------------

def _province_series(seed, cities: pd.DataFrame, panel: pd.DataFrame, years) -> pd.DataFrame:
    """Province-year EPS series: urbanization rate (%), urban and rural per-capita disposable
    income (元), consistent with the province's cities."""
    rng = _rng(seed, 7)
    p = panel.merge(cities[["city_id", "province_id", "province_name"]], on="city_id")
    w = p["pop_resident"]
    p = p.assign(w=w, wu=w * p["urbanization_rate"], wl=w * np.log(p["gdp_per_capita"]))
    agg = p.groupby(["province_id", "province_name", "year"], as_index=False)[
        ["w", "wu", "wl"]].sum()
    agg["urbanization_rate"] = agg["wu"] / agg["w"]
    agg["log_gdppc"] = agg["wl"] / agg["w"]
    agg = agg.drop(columns=["w", "wu", "wl"])
    k = len(agg)
    t = agg["year"].to_numpy() - years[0]
    zp = (agg["log_gdppc"].to_numpy() - 10.9) / 0.4
    agg["urbanization_rate"] = np.clip(agg["urbanization_rate"] + rng.normal(0, 0.4, k), 15, 95)
    agg["urban_disposable_income"] = 17500 * np.exp(0.075 * t + 0.12 * zp + rng.normal(0, 0.02, k))
    agg["rural_disposable_income"] = 6000 * np.exp(0.095 * t + 0.2 * zp + rng.normal(0, 0.03, k))
    return agg.drop(columns="log_gdppc")


def _internet_users(seed) -> pd.Series:
    """National internet users (万人), a logistic path with small noise."""
    rng = _rng(seed, 8)
    y = np.asarray(INTERNET_YEARS)
    users = 120000 / (1 + np.exp(-0.218 * (y - 2012.5))) * np.exp(rng.normal(0, 0.01, len(y)))
    return pd.Series(np.round(users), index=y, name="internet_users")


# --- S004: counties and firm records ---------------------------------------------------------

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
    rng = _rng(seed, 20)
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
    rng = _rng(seed, 21)
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
    ramp = np.where(e >= 0, np.minimum(0.5 + 0.25 * e, 1.0) * 1.05 ** np.maximum(e - 2, 0), 0.0)
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
                       f"at least {S004_MIN_CLUSTER_FIRMS} firms (half in "
                       "the first year, three quarters in the second, then growing 5% a year); "
                       "entrepreneurial cluster firms are private (171-174) with median 45 "
                       "employees, other cluster firms state, corporate or foreign with median "
                       "600 employees; normal firms draw industries from a national "
                       "distribution (90%) or three county specialties (10%)"},
        },
    }

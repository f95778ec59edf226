"""The latent city, province and national panel behind the yearbook, EPS and policy-text files,
with the planted effects of studies S000, S001 and S002.

Every city follows the shared latent path of :mod:`models_py.generate.latent` (GDP per capita and
resident population); this module assembles the panel from it and adds, in order:

1. S000 (:mod:`models_py.generate.digital_infrastructure`): a province-level
   digital-infrastructure trend ``DI_pt``; within each province GDP per capita converges faster
   where it grows faster. Patents per 10,000 residents and the tertiary / secondary ratio
   rise with ``DI_pt`` (the mechanisms), by the same amount in every city of a province.
2. S002 (:mod:`models_py.generate.business_cycle`): a national growth cycle; a city's loading
   on it moves toward 1 and its idiosyncratic volatility falls from the year it becomes a
   cross-border e-commerce pilot, by a share that scales with its policy-tool intensities.
3. S001: from its policy year a big data pilot city raises the components of the urban
   economic resilience index (not GDP per capita, not GDP growth); the gain is planted in full
   for large cities (resident population in 2012 of a large class of ref_city_size_class,
   at least 500万), weakly below, and scales with the
   city's intellectual property protection and policy implementation capacity. Cities near
   treated cities get a spillover in proportion to the inverse-distance-weighted share of
   treated sample cities within 300 km. Talent share and new digital firms rise in
   every pilot city; 1984 telephone density is higher in pilot cities (the instrument).

Everything else is noise independent of treatment. Without the pilot zones every component of
the resilience index rises by the same amount in every city, not in proportion to the city's
level (the pilot cities are the more developed ones): ratios and amounts per resident have a
national rise, and GDP per capita converges across provinces (:func:`province_convergence`).
The panel holds every variable in the unit of
the first catalog row of its indicator (万元, 万人, 元, %, 万美元, ...); the file writers convert
to the unit of each edition. The resilience-index gain the S001 effects imply is computed with
:mod:`models_py.generate.resilience_index`; the county and firm world of S004 is
:mod:`models_py.generate.county_world`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_py import reference
from models_py.generate import business_cycle, digital_infrastructure
from models_py.generate import latent as latent_mod
from models_py.generate.digital_infrastructure import (PATENT_BASE, S000_PATENTS,
                                                      S000_TERTIARY_RATIO)
from models_py.generate.latent import URBAN_SLOPE, development
from models_py.generate.latent import world_rng as _rng
from models_py.generate.mrio_world import great_circle_km
from models_py.generate.resilience_index import entropy_fit, resilience_components
from models_py.generate.scale import Scale
from models_py.reference import first_policy_years

YEARBOOK_LEVELS = ("municipality", "prefecture_city")
NO_ECONOMY_CITIES = ("460300",)  # 三沙市: a prefecture since 2012 with no economy to tabulate
INTERNET_YEARS = tuple(range(2009, 2024))
TELEPHONE_YEAR = 1984
URBANIZATION_RISE = 1.2  # percentage points a year, in every city
PROVINCE_CONVERGENCE = 0.035  # fall of annual log GDP per capita growth per unit of the
                              # province's mean 2012 log level (province_convergence)

# --- S001: big data pilot zones -> urban economic resilience ----------------------------------
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


@dataclass
class CityWorld:
    """The latent panel and what the file writers and the truth need from it.

    ``panel``: one row per city and year (every city of the scale, ``sc.city_years``), canonical
    variables. ``cities``: one row per city (roster facts, treatment, 1984 telephones).
    ``provinces``: province-year EPS series. ``internet_users``: national series (万人).
    ``pilots``: cross-border e-commerce pilot cities with their policy-tool rates.
    ``gdppc_without_cbec``: GDP per capita by (city_id, year) in the same world without the
    pilots' pull on the business cycle (the S002 counterfactual).
    """
    panel: pd.DataFrame
    cities: pd.DataFrame
    provinces: pd.DataFrame
    internet_users: pd.Series
    pilots: pd.DataFrame
    truth: dict
    gdppc_without_cbec: pd.Series


def s001_years() -> tuple[int, int]:
    """First and last year of the S001 city panel (the dbt variables ``s001_first_year``,
    ``s001_last_year``)."""
    years = reference.panel_years("s001")
    return years[0], years[-1]


def build_city_world(sc: Scale, latent: pd.DataFrame, seed: int,
                     s001_null: bool = False) -> CityWorld:
    """The full latent city world for a scale, deterministic for a seed. ``s001_null`` plants
    no S001 effect (the null variant): the same world, draw for draw, without the pilot
    zones' effects."""
    lat = latent.set_index("city_id").loc[list(sc.city_ids)].reset_index()
    roster = reference.cities().set_index("city_id").loc[list(sc.city_ids)]
    years = np.asarray(sc.city_years)
    base_lg = np.log(np.column_stack([latent_mod.gdppc(lat, y) for y in years])) \
        + province_convergence(lat, years)
    pop = np.column_stack([latent_mod.population(lat, y) for y in years])
    z = development(lat)[:, None]
    in_yearbook = roster["level"].isin(YEARBOOK_LEVELS).to_numpy()

    digital = digital_infrastructure.plant(seed, lat, roster, years, pop, base_lg, in_yearbook)
    cycle = business_cycle.plant(seed, lat, years)
    lg = digital["converged_lg"] + cycle["level_deviation"]
    s001 = _s001_exposure(seed, lat, roster, years, z, planted=not s001_null)
    inputs = dict(seed=seed, lat=lat, roster=roster, years=years, pop=pop, lg=lg,
                  digital=digital, s001=s001)
    panel = _panel(**inputs, exposure=s001["exposure"])
    counterfactual = _panel(**inputs, exposure=np.zeros_like(s001["exposure"]))
    without_di = _panel(**{**inputs, "digital": {**digital,
                                                 "di_city": np.zeros_like(digital["di_city"])}},
                        exposure=s001["exposure"])
    s000_panel = digital_infrastructure.province_year(
        lat, years, yearbook_listing(roster, years), lg,
        digital["unconverged_lg"] + cycle["level_deviation"],
        digital, panel, without_di)

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
        "S000": {**digital["truth"],
                 "province_theil_2013": digital_infrastructure.base_year_theil(s000_panel),
                 "index_effects": digital_infrastructure.index_effects(s000_panel)},
        "S001": _s001_truth(s001, cities, panel, counterfactual, internet),
        "S002": cycle["truth"],
    }
    without_cbec = pd.Series(
        np.exp(digital["converged_lg"] + cycle["level_deviation_without_pilots"]).ravel(),
        index=pd.MultiIndex.from_product([lat["city_id"], years], names=["city_id", "year"]))
    return CityWorld(panel, cities, provinces, internet, cycle["pilots"], truth, without_cbec)


def province_convergence(lat: pd.DataFrame, years) -> np.ndarray:
    """(cities, years): what the city panel adds to the latent log GDP per capita, a growth that
    falls by :data:`PROVINCE_CONVERGENCE` per unit of the province's mean 2012 log level (the
    cities of the scale in that province), from the year before the first big data pilot zones
    (levels in that year are the latent ones). About enough for a richer province to gain as
    many 元 per resident a year as a poorer one: S001's resilience index holds GDP per capita
    in levels, and a level that grew by the same log rate everywhere would rise faster in the
    more developed pilot cities (mostly whole provinces and municipalities) without any pilot
    zone. The term is common to the cities of a province, so S000's within-province paths are
    left alone, and constant over the years for each city (S002 compares growth rates)."""
    level = lat.groupby("province_id")["log_gdppc_2012"].transform("mean").to_numpy()
    anchor = min(first_policy_years("ref_big_data_pilot",
                                    reference.cities()["city_id"]).values()) - 1
    return -PROVINCE_CONVERGENCE * (level[:, None] - 10.8) \
        * (np.asarray(years)[None, :] - anchor)


def yearbook_listing(roster: pd.DataFrame, years) -> np.ndarray:
    """(cities, years): True where the city yearbook of the year lists the city with figures (a
    municipality or prefecture-level 市 that exists that year and has an economy to tabulate);
    ``roster`` is indexed by city_id."""
    valid = (roster["valid_from"].to_numpy()[:, None] <= np.asarray(years)[None, :]) \
        & (roster["valid_to"].to_numpy()[:, None] >= np.asarray(years)[None, :])
    kept = roster["level"].isin(YEARBOOK_LEVELS).to_numpy() \
        & ~roster.index.isin(NO_ECONOMY_CITIES)
    return valid & kept[:, None]


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

    def ratio(log_mean, beta=0.0, sd_city=0.0, sd_year=0.0, trend=0.0, national=0.0):
        """exp(log_mean + beta*z + city effect + trend*t + noise), plus a national rise
        ``exp(mean log_mean) * (exp(national*t) - 1)`` of the same size in every city. The
        resilience components rise nationally: growth in proportion to a city's own level
        would lift the index of the more developed pilot cities faster without any pilot
        zone, and the S001 designs' parallel trends would fail."""
        return np.exp(log_mean + beta * z + sd_city * rng.standard_normal((n, 1))
                      + trend * t + sd_year * rng.standard_normal((n, T))) \
            + np.exp(np.mean(log_mean)) * np.expm1(national * t)

    gdppc = np.exp(lg)
    mean_gdppc = gdppc.mean(axis=0, keepdims=True)

    def per_resident(log_mean, beta, sd_city, sd_year, national):
        """A ratio to GDP whose amount per resident is the city's first-year GDP per capita
        times ``exp(log_mean + beta*z + city effect + noise)``, plus a rise of the same size in
        every city: ``exp(log_mean)`` times the rise of the mean GDP per capita of all cities,
        growing ``national`` a year faster. Amounts per resident that followed each city's own
        GDP per capita would rise in proportion to its level, faster in the more developed
        pilot cities without any pilot zone."""
        amount = gdppc[:, :1] * ratio(log_mean, beta, sd_city, sd_year) \
            + np.exp(log_mean) * (mean_gdppc * np.exp(national * t) - mean_gdppc[:, :1])
        return amount / gdppc

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
    # The tertiary / secondary ratio (an S001 component, in levels) rises by the same amount in
    # every city: nationally, and with the province's digital infrastructure (S000's mechanism).
    to_secondary = np.exp(-0.25 + 0.25 * z + 0.3 * rng.standard_normal((n, 1))
                          + 0.02 * rng.standard_normal((n, T))) \
        + np.exp(-0.25) * np.expm1(0.035 * t) + S000_TERTIARY_RATIO * digital["di_city"]
    tertiary = (100 - primary) * to_secondary / (1 + to_secondary)
    tertiary = tertiary + S001_PP_EFFECTS["share_tertiary"] * exposure
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
        "college_students", ratio(np.log(0.012) + 1.2 * capital, 0.5, 0.5, 0.03, national=0.03))
    v["employment_urban_units"] = pop * ratio(np.log(0.12), 0.3, 0.2, 0.03)
    emp = v["employment_urban_units"]
    v["unemployed_registered"] = emp * 1e4 * ratio(np.log(0.03), 0.0, 0.25, 0.08)
    insured = ratio(np.log(0.6), 0.1, 0.15, 0.04)
    # coverage of residents rises by the same share in every city (not in proportion to each
    # city's urban employment share)
    insured = insured + (pop / emp) * 0.6 * 0.12 * np.expm1(0.02 * t)
    v["unemployment_insured"] = emp * 1e4 * planted("unemployment_insured", insured)
    v["household_savings"] = gdp * planted("household_savings",
                                           per_resident(np.log(0.75), 0.0, 0.2, 0.04, 0.02))
    v["loans"] = gdp * planted("loans", ratio(np.log(1.0), 0.2, 0.3, 0.04, national=0.03))
    v["retail_sales"] = gdp * planted("retail_sales",
                                      per_resident(np.log(0.38), 0.0, 0.12, 0.04, 0.0))
    v["hospital_beds"] = pop * planted("hospital_beds",
                                       ratio(np.log(45), 0.1, 0.15, 0.03, national=0.035))
    v["broadband_subscribers"] = digital["broadband"]
    v["mobile_subscribers"] = digital["mobile"]
    v["telecom_volume"] = digital["telecom"]
    v["avg_wage"] = 36000 * np.exp(0.085 * t) * ratio(0.0, 0.25, 0.08, 0.03)
    v["industrial_fixed_assets"] = gdp * v["share_secondary"] / 100 * ratio(np.log(1.1), 0, 0.3,
                                                                            0.06)
    v["industrial_current_assets"] = gdp * v["share_secondary"] / 100 * ratio(np.log(1.0), 0,
                                                                              0.3, 0.06)
    # Patents per 10,000 residents rise with digital infrastructure alone (S000's mechanism),
    # by the same number in every city of a province, not in proportion to the city's level.
    patents = ratio(np.log(PATENT_BASE), 1.0, 0.5, 0.08) \
        + PATENT_BASE * np.expm1(S000_PATENTS * digital["di_city"])
    v["patents_granted"] = pop * planted("patents_granted", patents)
    v["patent_applications"] = pop * planted("patent_applications",
                                             patents * ratio(np.log(1.8), 0, 0.1, 0.08))
    # Urbanization: a city's level follows its development, and it rises by the same number of
    # points a year in every city (a logistic rise would be slowest in the most urban, more
    # developed pilot cities), up to its ceiling.
    base = digital_infrastructure.s000_years()[0] - years[0]   # 2013: S000's urbanization split
    urbanization = 100 / (1 + np.exp(-(0.3 + URBAN_SLOPE * z + 0.4 * rng.standard_normal((n, 1))
                                       + 0.06 * base + 0.02 * rng.standard_normal((n, T))))) \
        + URBANIZATION_RISE * (t - base)
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
    large = lat["pop_2012"].to_numpy() >= reference.large_city_min_population()
    direct = policy_post * (np.where(large, 1.0, S001_SMALL_SHARE) * multiplier)[:, None]

    in_sample = roster["in_s001"].to_numpy() == 1
    dist = great_circle_km(lat["longitude"].to_numpy(), lat["latitude"].to_numpy())
    with np.errstate(divide="ignore"):
        near = np.where((dist > 0) & (dist <= S001_SPILL_KM) & in_sample[None, :], 1 / dist, 0.0)
    total = near.sum(axis=1, keepdims=True)
    near = np.divide(near, total, out=np.zeros_like(near), where=total > 0)
    spill = S001_SPILL_SHARE * (near @ policy_post)

    # Nothing but pilot status and noise: the instrument's exclusion restriction. A term in the
    # development level z would carry, through telephones x the internet-user path, the trends
    # that the resilience components follow in proportion to their level.
    telephones = np.exp(np.log(0.6) + S001_TEL_PILOT * pilot + 0.35 * rng.standard_normal(n))
    on = 1.0 if planted else 0.0
    return {"ids": ids, "policy_year": py, "pilot": pilot, "large": large,
            "multiplier": multiplier, "z_ip": z_ip, "z_pc": z_pc, "planted": planted,
            "policy_post": policy_post, "treated_post": on * policy_post,
            "direct": on * direct, "spill": on * spill, "exposure": on * (direct + spill),
            "telephones": np.round(telephones, 3)}


def _s001_truth(s001: dict, cities: pd.DataFrame, panel: pd.DataFrame,
                counterfactual: pd.DataFrame, internet: pd.Series) -> dict:
    ids = s001["ids"]
    large_from = reference.large_city_min_population()   # 万人
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
        "years": list(s001_years()),
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
                       f"{S001_SMALL_SHARE:g} x m_i below {large_from:g}万; plus the "
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
                       f"{large_from:g}万 (2012 年末常住人口)"},
            "heterogeneity_small_cities": {
                "sign": "+", "value": S001_SMALL_SHARE,
                "how": f"weak: {S001_SMALL_SHARE:g} of the large-city effect below "
                       f"{large_from:g}万, so small-city estimates may be "
                       "insignificant"},
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
                "how": "log 1984 telephones per 100 = log 0.6 + 0.6*pilot + N(0,0.35^2), "
                       "independent of development (the exclusion restriction); "
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
    window = lambda c: c[c["year"].between(*s001_years())].reset_index(drop=True)  # noqa: E731
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
        "definition": "reference entropy index over the resilience indicators of the seed "
                      "ref_index_indicator (resilience_components()); a pipeline with other "
                      "component definitions gets gains of the same sign but other magnitudes",
        "by_city_year": {"city_id": actual["city_id"].tolist(),
                         "year": actual["year"].astype(int).tolist(),
                         "gain": [round(float(x), 7) for x in gain]},
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

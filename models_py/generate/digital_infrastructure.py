"""Study S000 in the latent city world: provincial digital-infrastructure trends, the convergence
of GDP per capita they drive within each province, and the city series that reveal them.

A province-level digital-infrastructure trend ``DI_pt = r_p * (year - 2013)`` (log broadband
subscribers per 100 residents, relative to 2013) grows at a province-specific rate ``r_p``.
Within each province the cities' 2013 log GDP per capita deviations from the population-weighted
province mean shrink so that the population-weighted Theil index falls by ``slope_p`` per unit of
``DI_pt``: where digital infrastructure grows faster, GDP per capita converges faster.
``slope_p`` is larger in more urbanized provinces. Patents per 10,000 residents and the
tertiary / secondary ratio rise with ``DI_pt``, by the same amount in every city of the province
(the mechanisms; :mod:`models_py.generate.city_world` adds them to the panel).

The study regresses balance on an entropy index of the digital-infrastructure indicators, not
on ``DI_pt``: :func:`index_effects` states, in the index's units, what each of its estimators
targets (the estimator applied to the balance gain against the same world without the
convergence, on a reference index computed from the world's own indicators).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from models_py import reference
from models_py.generate import latent as latent_mod
from models_py.generate.estimands import codes, fe_2sls, fe_ols
from models_py.generate.latent import URBAN_SLOPE, development, world_rng
from models_py.generate.resilience_index import entropy_fit

S000_RATE_RANGE = (0.06, 0.18)      # annual growth of log broadband per 100 residents
S000_THEIL_SLOPE = {"high": 0.009, "low": 0.006}  # Theil fall per unit of DI, by urbanization
S000_THEIL_FLOOR = 0.05             # the Theil index falls to at most this share of its 2013 value
PATENT_BASE = 3.0                   # patents granted per 10,000 residents, a typical city
S000_PATENTS = 0.50                 # patents per 10,000 += PATENT_BASE * (exp(0.50 DI) - 1)
S000_TERTIARY_RATIO = 0.30          # tertiary / secondary ratio per unit of DI


DI_INDEX = "digital_infrastructure"   # the index's name in seed ref_index_indicator


def s000_years() -> tuple[int, int]:
    """First and last year of the S000 province panel (the dbt variables ``s000_first_year``,
    ``s000_last_year``); the first is also the base year of the digital-infrastructure trend
    and of the urbanization split."""
    years = reference.panel_years("s000")
    return years[0], years[-1]


def theil(values: np.ndarray, weights: np.ndarray) -> float:
    """Population-weighted Theil index: sum_i s_i (y_i/mu) ln(y_i/mu), s_i population shares,
    mu the population-weighted mean."""
    s = weights / weights.sum()
    ratio = values / (s * values).sum()
    return float((s * ratio * np.log(ratio)).sum())


def plant(seed, lat, roster, years, pop, base_lg, in_yearbook) -> dict:
    """Province digital-infrastructure trends, the convergence they drive, and the city-level
    broadband, mobile and telecom series that reveal them.

    ``converged_lg`` is log GDP per capita with the convergence: every city of a province with
    two or more yearbook cities follows the province's mean path plus its base-year deviation
    from it, scaled down as DI grows. ``unconverged_lg`` is the same world without the
    convergence (the deviation kept at its base-year value): the counterfactual the S000
    targets compare with. Within a province nothing but the convergence moves the cities apart
    or together (the business cycle adds noise around it), so no within-province inequality
    trend can lean with the provinces' digital build-up."""
    rng = world_rng(seed, 3)
    prov = lat["province_id"].to_numpy()
    provinces = sorted(set(prov))
    rate = dict(zip(provinces, rng.uniform(*S000_RATE_RANGE, len(provinces))))
    level = dict(zip(provinces, rng.normal(0.0, 0.2, len(provinces))))
    n, T = base_lg.shape
    r = np.array([rate[p] for p in prov])[:, None]
    lvl = np.array([level[p] for p in prov])[:, None]
    base_year = s000_years()[0]
    di = r * (years - base_year)[None, :]              # DI_pt, copied to each city

    # Province urbanization in the base year decides the convergence class.
    z = development(lat)
    base_urban = 1 / (1 + np.exp(-(0.3 + URBAN_SLOPE * z + 0.06 * (base_year - years[0]))))
    base_col = list(years).index(base_year)
    pop0 = pop[:, base_col]
    urban_p = {p: float(np.average(base_urban[prov == p], weights=pop0[prov == p]))
               for p in provinces}
    n_yearbook = {p: int(((prov == p) & in_yearbook).sum()) for p in provinces}
    municipalities = set(roster.loc[roster["level"] == "municipality", "province_id"])
    s000_prov = [p for p in provinces if n_yearbook[p] >= 2 and p not in municipalities]
    median_urban = float(np.median([urban_p[p] for p in s000_prov])) if s000_prov else 0.0
    klass = {p: ("high" if urban_p[p] > median_urban else "low") for p in provinces}

    lam = np.array([S000_THEIL_SLOPE[klass[p]] for p in prov])[:, None]
    converged, unconverged = base_lg.copy(), base_lg.copy()
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
        unconverged[rows] = mean[None, :] + dev0
    lg2012 = base_lg[:, list(years).index(latent_mod.BASE_YEAR)]
    dev = (lg2012 - pd.Series(lg2012).groupby(prov).transform("mean").to_numpy())[:, None]
    city_off = 0.5 * dev + 0.1 * rng.standard_normal((n, 1))
    noise = lambda sd: sd * rng.standard_normal((n, T))  # noqa: E731
    broadband = pop / 100 * np.exp(np.log(13) + lvl + di + city_off + noise(0.04))
    mobile = pop / 100 * np.exp(np.log(88) + 0.2 * lvl + 0.35 * di + 0.5 * city_off + noise(0.03))
    telecom = pop * np.exp(np.log(800) + lvl + 1.5 * di + city_off + noise(0.05))

    truth = {
        "unit": "province-year",
        "years": list(s000_years()),
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
                "how": f"patents granted per 10,000 residents += {PATENT_BASE:g}*(exp("
                       f"{S000_PATENTS:g}*DI_pt) - 1) in every city (the same rise in every city "
                       "of a province, not one in proportion to its level; no other trend), "
                       "applications in proportion; mechanism_log_patents in index_effects is "
                       "what this does to the province's log patents per 10,000",
            },
            "mechanism_industrial_upgrading": {
                "sign": "+", "value": S000_TERTIARY_RATIO,
                "how": f"the tertiary / secondary ratio += {S000_TERTIARY_RATIO:g} * DI_pt in "
                       "every city (the same rise in every city of a province, besides a "
                       "national rise of 0.78 * (exp(0.035 * (year - first year)) - 1)); the "
                       "two shares split what the primary sector leaves in that ratio",
            },
            "lagged_and_iv": {"sign": "+", "value": None,
                              "how": "DI is a smooth trend: lags carry the same sign"},
        },
        "province_rate_r": {p: round(float(rate[p]), 4) for p in provinces},
        "province_urbanization_2013": {p: round(urban_p[p], 4) for p in s000_prov},
        "high_urbanization_provinces": [p for p in s000_prov if klass[p] == "high"],
    }
    return {"converged_lg": converged, "unconverged_lg": unconverged, "di_city": di,
            "broadband": broadband, "mobile": mobile, "telecom": telecom, "truth": truth}


def province_year(lat, years, listed, lg, lg_without, digital, panel, panel_without
                  ) -> pd.DataFrame:
    """Province-years of the S000 sample as the warehouse forms them (provinces of the plant's
    sample with two or more cities in that year's yearbook, S000 years), from the world's city
    panel: the Theil index, the indicators of the digital-infrastructure index, and the gains
    the planted effects bring, the data's value minus that of the same world without them:
    balance (-Theil and -CV; ``lg_without`` has no convergence: the plant's ``unconverged_lg``
    plus the business cycle), the tertiary / secondary ratio and log patents per 10,000
    (``panel_without`` has no DI in the tertiary share and patents)."""
    prov = lat["province_id"].to_numpy()
    n, T = len(prov), len(years)
    wide = lambda frame, name: frame[name].to_numpy(float).reshape(n, T)  # noqa: E731
    pop, gdp = wide(panel, "pop_resident"), wide(panel, "gdp")
    truth = digital["truth"]
    rows = []
    first, last = s000_years()
    for t, year in enumerate(years):
        if not first <= year <= last:
            continue
        for p in truth["provinces"]:
            cities = (prov == p) & listed[:, t]
            if cities.sum() < 2:
                continue
            w, g = pop[cities, t], gdp[cities, t]
            balance, structure, patents = {}, {}, {}
            for name, path, frame in (("data", lg, panel), ("without", lg_without, panel_without)):
                y = np.exp(path[cities, t])
                mu = np.average(y, weights=w)
                balance[name] = (-theil(y, w), -np.sqrt(np.average((y - mu) ** 2, weights=w)) / mu)
                structure[name] = ((wide(frame, "share_tertiary")[cities, t] * g).sum()
                                   / (wide(frame, "share_secondary")[cities, t] * g).sum())
                patents[name] = np.log(wide(frame, "patents_granted")[cities, t].sum() / w.sum())
            rows.append({
                "province_id": p, "year": int(year),
                "high": p in truth["high_urbanization_provinces"], "theil": -balance["data"][0],
                "gain_theil": balance["data"][0] - balance["without"][0],
                "gain_cv": balance["data"][1] - balance["without"][1],
                "gain_tertiary_to_secondary": structure["data"] - structure["without"],
                "gain_log_patents": patents["data"] - patents["without"],
                "broadband_per_100": 100 * wide(panel, "broadband_subscribers")[cities, t].sum()
                / w.sum(),
                "mobile_per_100": 100 * wide(panel, "mobile_subscribers")[cities, t].sum() / w.sum(),
                "telecom_per_capita": wide(panel, "telecom_volume")[cities, t].sum() / w.sum(),
            })
    return pd.DataFrame(rows)


def base_year_theil(province_year: pd.DataFrame) -> dict:
    """The Theil index of each S000 province in the first S000 year, on the world's data (as the
    warehouse measures it from the yearbooks), from :func:`province_year`."""
    first = province_year[province_year["year"] == s000_years()[0]]
    return {p: round(float(v), 5) for p, v in zip(first["province_id"], first["theil"])}


def index_effects(province_year: pd.DataFrame) -> dict:
    """What the S000 estimators target, in units of the digital-infrastructure index: each
    estimator applied to the gain the planted effects bring (:func:`province_year`), with the
    index computed from the world's broadband, mobile and telecom series by the entropy method
    over the S000 province-years (indicators as the seed ref_index_indicator lists them).
    Province and year fixed effects, no controls."""
    panel = province_year.copy()
    fit = entropy_fit(panel, DI_INDEX)
    panel["di_index"] = fit.score(panel).to_numpy()
    panel = panel.sort_values(["province_id", "year"]).reset_index(drop=True)
    previous = panel.groupby("province_id")
    for k in (1, 2):
        lagged = previous["di_index"].shift(k)
        panel[f"di_index_lag{k}"] = lagged.where(previous["year"].shift(k) == panel["year"] - k)
    out: dict = {}
    fe = [codes(panel["province_id"]), codes(panel["year"])]
    for outcome in ("theil", "cv"):
        y = f"gain_{outcome}"
        out[f"baseline_{outcome}"] = float(fe_ols(panel[y], panel["di_index"], fe)[0])
        inter = panel["di_index"] * panel["high"]
        out[f"urbanization_difference_{outcome}"] = float(
            fe_ols(panel[y], np.column_stack([panel["di_index"], inter]), fe)[1])
        for k in (1, 2):
            sub = panel.dropna(subset=[f"di_index_lag{k}"])
            fe_k = [codes(sub["province_id"]), codes(sub["year"])]
            out[f"lag{k}_{outcome}"] = float(fe_ols(sub[y], sub[f"di_index_lag{k}"], fe_k)[0])
            if k == 1:
                out[f"iv_lag1_{outcome}"] = fe_2sls(sub[y].to_numpy(), sub["di_index"].to_numpy(),
                                                   sub["di_index_lag1"].to_numpy(), fe_k)
    for name in ("log_patents", "tertiary_to_secondary"):
        out[f"mechanism_{name}"] = float(fe_ols(panel[f"gain_{name}"], panel["di_index"], fe)[0])
    out = {k: round(v, 6) for k, v in out.items()}
    out["weights"] = {k: round(float(v), 5) for k, v in fit.weights.items()}
    out["how"] = ("each estimator (province and year fixed effects, no controls) applied to the "
                  "gain the planted effects bring to the outcome: the data's value minus that of "
                  "the same world without them (balance: -Theil or -CV with every city keeping "
                  "its 2013 deviation from its province's mean path; "
                  "mechanisms: the tertiary / secondary ratio and log patents per 10,000 without "
                  "DI in the tertiary share and patents), on a reference entropy index of the "
                  "world's broadband and mobile subscribers per 100 and telecom volume per "
                  "resident (weights fitted on the S000 province-years); urbanization_difference "
                  "is the interaction with high urbanization; iv_lag1 instruments the index by "
                  "its value a year before. An estimate on the warehouse differs from these by "
                  "noise only.")
    return out

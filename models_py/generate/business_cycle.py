"""Study S002 in the latent city world: a national business cycle, each city's loading on it, and
the cross-border e-commerce pilots that pull their cities toward the national cycle.

Each city's log GDP per capita deviates from its trend by ``lambda_i * C_t + sigma_i * e_it``
(``C_t`` the cumulated national growth cycle ``c_t``), so its growth is ``lambda_i * c_t`` plus
idiosyncratic noise. From the year a city becomes a cross-border e-commerce pilot its loading
moves toward 1 and its idiosyncratic volatility falls, both by a share that scales with the
intensity of its supply-, environment- and demand-oriented policy tools (the keyword rates its
policy texts are written with).

The study measures synchronization between pairs of cities, -|growth_a - growth_b|;
:func:`pair_effects` states, in those units, what its estimators target: each estimator applied
to the synchronization gain against the same world without the pilots' pull.
"""
from __future__ import annotations

import re

import numpy as np

import pandas as pd

from models_py import reference
from models_py.estimate.specs import load_study
from models_py.generate import latent as latent_mod
from models_py.generate.estimands import codes, fe_ols, imputation_att
from models_py.generate.latent import world_rng
from models_py.generate.mrio_world import great_circle_km

S002_LOADING_RANGE = (0.6, 1.4)     # city loadings on the national cycle
S002_SIGMA_RANGE = (0.01, 0.02)     # idiosyncratic sd of log GDP per capita
S002_SHRINK = 0.60                  # share of (loading - 1) and of volatility removed, per unit m
S002_SHRINK_MAX = 0.80
S002_TOOL_LOG_MEAN, S002_TOOL_LOG_SD = np.log(2.5), 0.5  # keywords per document, by tool type
S002_TOOL_MEAN = float(np.exp(S002_TOOL_LOG_MEAN + S002_TOOL_LOG_SD ** 2 / 2))
TOOL_TYPES = ("supply", "environment", "demand")
# The pair mart's percent rank of a pair's pre-pilot economic ties among all pairs: S002's
# samples keep the pairs at or above a threshold of it (0 keeps every pair).
TIE_RANK = "ties_base_percentile"


def tie_thresholds() -> list[float]:
    """Every threshold of pre-pilot ties an S002 specification samples on (``<TIE_RANK> >= x``
    in a sample of ``s002.yml``: the baseline's and the robustness table's), so that each has a
    truth value."""
    pattern = re.compile(rf"\b{TIE_RANK}\s*>=\s*([0-9.]+)")
    return sorted({float(x) for spec in load_study("s002").specs
                   for x in pattern.findall(spec.sample)})


def plant(seed, lat, years) -> dict:
    """Growth deviations from trend: a national cycle times a loading plus idiosyncratic noise,
    pulled toward the national cycle after a city becomes a cross-border e-commerce pilot."""
    rng = world_rng(seed, 4)
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

    py = reference.first_policy_years("ref_cbec_pilot", ids)
    trng = world_rng(seed, 5)
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
    level_without = loading[:, None] * national[None, :] + sigma[:, None] * eps

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
                       f"of sigma_i, s_i = min({S002_SHRINK_MAX:g}, {S002_SHRINK:g}*m_i): "
                       "growth gaps -|g_i-g_j| of pairs "
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
    return {"level_deviation": level, "level_deviation_without_pilots": level_without,
            "pilots": pilots, "truth": truth}


def _growth(world, listed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cities x years) log growth of GDP per capita in the data and without the pilots' pull,
    where the yearbooks list the city in the year and the year before (NaN elsewhere)."""
    ids = world.cities["city_id"].to_numpy()
    years = np.sort(world.panel["year"].unique())
    gdppc = world.panel.set_index(["city_id", "year"])["gdp_per_capita"]
    out = []
    for series in (gdppc, world.gdppc_without_cbec):
        lg = np.log(series.unstack("year").reindex(index=ids, columns=years).to_numpy(float))
        growth = np.full_like(lg, np.nan)
        growth[:, 1:] = np.where(listed[:, 1:] & listed[:, :-1], np.diff(lg, axis=1), np.nan)
        out.append(growth)
    return out[0], out[1]


def city_growth(world, listed: np.ndarray) -> dict:
    """Each city-year's growth of GDP per capita in the data and without the pilots' pull (the
    truth's ``S002.city_growth``): a pair's synchronization gain is -|g_a - g_b| minus the same
    without the pull, so any estimator's target on any sample of pairs can be computed from it."""
    growth, growth0 = _growth(world, listed)
    ids = world.cities["city_id"].to_numpy()
    years = np.sort(world.panel["year"].unique())
    keep = ~np.isnan(growth)
    rows, cols = np.nonzero(keep)
    return {"city_id": ids[rows].tolist(), "year": years[cols].astype(int).tolist(),
            "growth": np.round(growth[keep], 8).tolist(),
            "growth_without": np.round(growth0[keep], 8).tolist()}


def _pair_panel(world, listed: np.ndarray) -> pd.DataFrame:
    """Unordered pairs of the cities each yearbook lists, by year, as the warehouse forms them:
    synchronization of the two cities' GDP per capita growth in the data and without the
    pilots' pull (from the second year on), the pair's treatment (a city of the pair treated)
    and the percent rank among pairs of its mean gravity ties before the first pilot year."""
    ids = world.cities["city_id"].to_numpy()
    years = np.sort(world.panel["year"].unique())
    panel = world.panel.set_index(["city_id", "year"])
    wide = lambda s: s.unstack("year").reindex(index=ids, columns=years).to_numpy(float)  # noqa: E731
    mass = np.sqrt(wide(panel["pop_resident"]) * wide(panel["gdp"]))
    growth, growth0 = _growth(world, listed)
    roster = reference.cities().set_index("city_id").loc[ids]
    dist = great_circle_km(roster["longitude"].to_numpy(float), roster["latitude"].to_numpy(float))
    policy = reference.first_policy_years("ref_cbec_pilot", ids)
    first = np.array([policy.get(c, np.inf) for c in ids], float)
    a, b = np.triu_indices(len(ids), k=1)
    a, b = np.where(ids[a] < ids[b], a, b), np.where(ids[a] < ids[b], b, a)
    frames = []
    for t, year in enumerate(years):
        both = listed[a, t] & listed[b, t]
        ia, ib = a[both], b[both]
        frames.append(pd.DataFrame({
            "a": ia, "b": ib, "year": year,
            "bcs": -np.abs(growth[ia, t] - growth[ib, t]),
            "bcs_without": -np.abs(growth0[ia, t] - growth0[ib, t]),
            "ties": mass[ia, t] * mass[ib, t] / dist[ia, ib] ** 2,
            "treated_a": year >= first[ia], "treated_b": year >= first[ib]}))
    pairs = pd.concat(frames, ignore_index=True)
    before = pairs[pairs["year"] < first[np.isfinite(first)].min()]
    strength = before.groupby(["a", "b"])["ties"].mean().rank(method="min")
    strength = (strength - 1) / max(len(strength) - 1, 1)
    pairs["percentile"] = pd.MultiIndex.from_frame(pairs[["a", "b"]]).map(strength)
    return pairs[pairs["year"] > years[0]].reset_index(drop=True)


def pair_effects(world, docs: pd.DataFrame, listed: np.ndarray) -> dict:
    """What the S002 estimators target, in units of synchronization -|g_a - g_b|, for the pair
    samples of :func:`tie_thresholds`: each estimator (pair and year fixed effects) applied to the
    synchronization gain, the data's minus that of the same world without the pilots' pull.
    ``docs`` are the policy documents with their keyword counts by tool type; a pilot city's
    tool index is its keywords per document relative to the mean over the pilot cities with
    documents, and a pair's is the sum over its treated cities. ``listed``: which cities each
    year's yearbook lists (cities x years)."""
    pairs = _pair_panel(world, listed)
    ids = world.cities["city_id"].to_numpy()
    per_doc = docs.groupby("city_id")[list(TOOL_TYPES)].sum().div(docs.groupby("city_id").size(),
                                                                   axis=0)
    index = (per_doc / per_doc.mean()).reindex(ids).fillna(0.0).to_numpy()
    for k, tool in enumerate(TOOL_TYPES):
        pairs[f"did_tool_{tool}"] = (pairs["treated_a"] * index[pairs["a"], k]
                                     + pairs["treated_b"] * index[pairs["b"], k])
    pairs["treated"] = (pairs["treated_a"] | pairs["treated_b"]).astype(float)
    pairs["gain"] = pairs["bcs"] - pairs["bcs_without"]
    pairs = pairs.dropna(subset=["gain", "percentile"])
    out = {}
    for threshold in tie_thresholds():
        sub = pairs[pairs["percentile"] >= threshold]
        unit, year = codes(sub["a"] * len(ids) + sub["b"]), codes(sub["year"])
        gain, treated = sub["gain"].to_numpy(), sub["treated"].to_numpy()
        row = {"pairs": int(len(np.unique(unit))), "rows": int(len(sub)),
               "twfe": float(fe_ols(gain, treated, [unit, year])[0]),
               "att_imputation": imputation_att(gain, treated > 0, unit, year)}
        tools = [f"did_tool_{t}" for t in TOOL_TYPES]
        for tool in tools:
            x = np.column_stack([treated, sub[tool]])
            row[tool] = float(fe_ols(gain, x, [unit, year])[1])
        joint = fe_ols(gain, np.column_stack([treated, sub[tools].to_numpy()]), [unit, year])
        row["joint"] = {t: float(v) for t, v in zip(tools, joint[1:])}
        out[str(threshold)] = _rounded(row)
    out["how"] = ("by the pairs' pre-pilot economic ties (percent rank of the mean gravity ties "
                  "before the first pilot year, at or above the key): each estimator with pair and "
                  "year fixed effects applied to the synchronization gain, -|g_a - g_b| of the "
                  "data minus that of the same world without the pilots' pull on the cycle; twfe: "
                  "slope on treated; att_imputation: the imputation estimator; did_tool_<k>: the "
                  "slope on the pair's tool index beside treated; joint: the three tool indices "
                  "together beside treated. An estimate on the warehouse differs from these by "
                  "noise only.")
    return out


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 7) if isinstance(value, float) else value

"""Study S002 in the latent city world: a national business cycle, each city's loading on it, and
the cross-border e-commerce pilots that pull their cities toward the national cycle.

Each city's log GDP per capita deviates from its trend by ``lambda_i * C_t + sigma_i * e_it``
(``C_t`` the cumulated national growth cycle ``c_t``), so its growth is ``lambda_i * c_t`` plus
idiosyncratic noise. From the year a city becomes a cross-border e-commerce pilot its loading
moves toward 1 and its idiosyncratic volatility falls, both by a share that scales with the
intensity of its supply-, environment- and demand-oriented policy tools (the keyword rates its
policy texts are written with).
"""
from __future__ import annotations

import numpy as np

from models_py import reference
from models_py.generate import latent as latent_mod
from models_py.generate.latent import world_rng

S002_LOADING_RANGE = (0.6, 1.4)     # city loadings on the national cycle
S002_SIGMA_RANGE = (0.01, 0.02)     # idiosyncratic sd of log GDP per capita
S002_SHRINK = 0.40                  # share of (loading - 1) and of volatility removed, per unit m
S002_SHRINK_MAX = 0.80
S002_TOOL_LOG_MEAN, S002_TOOL_LOG_SD = np.log(2.5), 0.5  # keywords per document, by tool type
S002_TOOL_MEAN = float(np.exp(S002_TOOL_LOG_MEAN + S002_TOOL_LOG_SD ** 2 / 2))
TOOL_TYPES = ("supply", "environment", "demand")


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

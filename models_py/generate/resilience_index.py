"""A reference computation of the S001 urban economic resilience index on the latent panel.

The warehouse computes the index in SQL from the raw files (dbt: ``int_city_year_panel`` for the
indicators, the ``entropy_weights`` macro for the weights). This module computes the same index
from the generator's own latent panel, independently of that code, so that the truth file can
state the index gain the planted component effects imply and tests can check the warehouse
against it. The list of indicators, their dimensions and directions is not defined here: it is
read from the seed ``ref_index_indicator`` that dbt reads too; only the indicator formulas and the
entropy method are written out again, as the independent check. The S000 truth fits its
digital-infrastructure index with the same :func:`entropy_fit`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models_py import reference

INDEX = "resilience"


def resilience_components(panel: pd.DataFrame) -> pd.DataFrame:
    """The indicators of the S001 resilience index (``ref_index_indicator``) per city-year.
    ``panel`` holds canonical variables of consecutive years (GDP growth needs the year
    before). An indicator the seed names that has no formula here is an error."""
    p = panel.sort_values(["city_id", "year"])
    fx = reference.usd_cny()
    rate = p["year"].map(fx)
    formulas = {
        "gdp_per_capita": lambda: p["gdp_per_capita"],
        "trade_dependence": lambda: (p["exports"] + p["imports"]) * rate / p["gdp"],
        "ui_coverage": lambda: p["unemployment_insured"] / (p["pop_resident"] * 1e4),
        "savings_per_capita": lambda: p["household_savings"] / p["pop_resident"],
        "urbanization_rate": lambda: p["urbanization_rate"],
        "retail_per_capita": lambda: p["retail_sales"] / p["pop_resident"],
        "gdp_growth": lambda: p.groupby("city_id")["gdp"].pct_change(),
        "fiscal_self_sufficiency": lambda: p["fiscal_revenue"] / p["fiscal_expenditure"],
        "loans_to_gdp": lambda: p["loans"] / p["gdp"],
        "beds_per_10k": lambda: p["hospital_beds"] / p["pop_resident"],
        "edu_sci_share": lambda: (p["education_expenditure"] + p["science_expenditure"])
        / p["fiscal_expenditure"],
        "tertiary_to_secondary": lambda: p["share_tertiary"] / p["share_secondary"],
        "students_per_10k": lambda: p["college_students"] / p["pop_resident"],
        "patents_per_10k": lambda: p["patents_granted"] / p["pop_resident"],
    }
    names = reference.index_indicators(INDEX)["indicator"].tolist()
    unknown = [n for n in names if n not in formulas]
    if unknown:
        raise ValueError(f"ref_index_indicator names resilience indicators the embedded default "
                         f"has no formula for: {unknown}")
    out = pd.DataFrame({"city_id": p["city_id"], "year": p["year"]})
    for name in names:
        out[name] = formulas[name]()
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class EntropyFit:
    """Bounds, directions and weights of an entropy-weight index fitted on a panel."""
    lo: pd.Series
    hi: pd.Series
    negative: pd.Series   # True where more of the indicator is worse
    weights: pd.Series

    def standardize(self, components: pd.DataFrame) -> pd.DataFrame:
        x = components[self.weights.index]
        norm = (x - self.lo) / (self.hi - self.lo)
        reversed_ = self.negative.index[self.negative]
        norm[reversed_] = 1 - norm[reversed_]
        return norm + float(reference.dbt_var("entropy_shift"))

    def score(self, components: pd.DataFrame) -> pd.Series:
        return (self.standardize(components) * self.weights).sum(axis=1)


def entropy_fit(components: pd.DataFrame, index: str = INDEX) -> EntropyFit:
    """Entropy weights of an index's indicators (``index`` in ref_index_indicator, the
    resilience index by default) over the panel: min-max standardization (reversed for negative
    indicators, plus the dbt variable entropy_shift), p = x/sum(x), e = -sum(p ln p)/ln(N),
    w = (1-e)/sum(1-e)."""
    spec = reference.index_indicators(index).set_index("indicator")
    x = components[spec.index]
    fit = EntropyFit(x.min(), x.max(), spec["direction"] == "negative",
                     pd.Series(1.0, index=spec.index))
    norm = fit.standardize(components)
    p = norm / norm.sum()
    e = -(p * np.log(p)).sum() / np.log(len(norm))
    return EntropyFit(fit.lo, fit.hi, fit.negative, (1 - e) / (1 - e).sum())

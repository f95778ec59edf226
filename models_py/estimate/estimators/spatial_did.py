"""Spatial DID: direct and spillover effects of a treatment through a spatial weight matrix.

y = unit FE + time FE + tau * D + theta * W D + controls + e (the Delgado-Florax spatial DID,
fitted with pyfixest): tau is the direct effect on treated units, theta the spillover of
treated neighbours. W is inverse great-circle distance between units, zero beyond
``cutoff_km`` and on the diagonal, row-standardized (a unit without neighbours keeps a zero
row). W D is built per period on every unit of the mart, before the sample is cut.

Option ``weights``: ``{relation, id, longitude, latitude, cutoff_km}``: the relation holding
each unit's coordinates (read from the warehouse; the asset depends on it). The lag column is
named ``w_<treatment>``; list it among the spec's regressors.

Option ``conley: {cutoff_km, kernel}`` adds Conley standard errors beside the spec's clustered
ones: statistic ``conley_se_<regressor>`` for each regressor, from
V = (X'X)^-1 (sum_t sum_i sum_j K(d_ij) x_it u_it u_jt x_jt') (X'X)^-1 with X the regressors
and controls demeaned by the fixed effects, u the residuals, d_ij the great-circle distance
between the units' coordinates (of ``weights.relation``), K the ``kernel``, uniform (1 within
the cutoff) or Bartlett (1 - d / cutoff, the default), and no small-sample factor:
spatial correlation within a period up to ``cutoff_km`` (:func:`.variance.conley_sums`).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from models_py.estimate import pyfixest_model
from models_py.estimate.estimators import ols, timing, variance, within
from models_py.estimate.study import Spec
from models_py.estimate.tidy import Estimate, from_pyfixest, term_name

EARTH_RADIUS_KM = 6371.0088
LABEL = "Spatial DID"


class Weights(BaseModel):
    """Where the units' coordinates are and how far W reaches."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    relation: str           # warehouse relation, e.g. marts.dim_city
    id: str                 # its unit column
    longitude: str
    latitude: str
    cutoff_km: float = Field(gt=0)


class Conley(BaseModel):
    """Conley standard errors: how far spatial correlation reaches and how it decays."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    cutoff_km: float = Field(gt=0)
    kernel: Literal["uniform", "bartlett"] = "bartlett"


class Options(timing.Panel):
    weights: Weights
    conley: Conley | None = None

    def relations(self) -> list[str]:
        return [self.weights.relation]


def lag_name(spec: Spec) -> str:
    return f"w_{timing.treatment(spec)}"


def columns(spec: Spec) -> list[str]:
    return [timing.unit(spec), timing.period(spec), timing.treatment(spec)]


def coordinates(spec: Spec) -> list[str]:
    """The coordinate columns a spec with Conley standard errors carries (else none)."""
    opts = spec.options
    return [opts.weights.longitude, opts.weights.latitude] if opts.conley else []


def derived(spec: Spec) -> list[str]:
    return [lag_name(spec), *coordinates(spec)]


def distance_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Great-circle (haversine) distances between all pairs of points, in km."""
    lo, la = np.radians(lon)[:, None], np.radians(lat)[:, None]
    h = (np.sin((la - la.T) / 2) ** 2
         + np.cos(la) * np.cos(la.T) * np.sin((lo - lo.T) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def inverse_distance_weights(lon: np.ndarray, lat: np.ndarray, cutoff_km: float) -> np.ndarray:
    """Row-standardized inverse-distance weights within ``cutoff_km`` (zero diagonal)."""
    d = distance_km(lon, lat)
    with np.errstate(divide="ignore"):
        w = np.where((d > 0) & (d <= cutoff_km), 1 / d, 0.0)
    rows = w.sum(axis=1, keepdims=True)
    return np.divide(w, rows, out=np.zeros_like(w), where=rows > 0)


def prepare(mart: pd.DataFrame, spec: Spec, inputs: dict) -> pd.DataFrame:
    opts = spec.options.weights
    coords = inputs[opts.relation].set_index(opts.id)
    unit, period, treat = timing.unit(spec), timing.period(spec), timing.treatment(spec)
    units = np.sort(mart[unit].unique())
    missing = [u for u in units if u not in coords.index]
    if missing:
        raise KeyError(f"units {missing[:5]} have no coordinates in {opts.relation}")
    c = coords.loc[units]
    w = inverse_distance_weights(c[opts.longitude].to_numpy(float),
                                 c[opts.latitude].to_numpy(float), opts.cutoff_km)
    d = (mart.assign(_d=mart[treat].astype(float))
         .pivot_table(index=unit, columns=period, values="_d", aggfunc="max")
         .reindex(units).astype(float).fillna(0.0))
    lag = pd.DataFrame(w @ d.to_numpy(), index=units, columns=d.columns)
    stacked = lag.stack().rename(lag_name(spec)).reset_index()
    stacked.columns = [unit, period, lag_name(spec)]
    out = mart.merge(stacked, on=[unit, period], how="left")
    if coordinates(spec):
        out = out.merge(c[coordinates(spec)].rename_axis(unit).reset_index(), on=unit,
                        how="left")
    return out


def fit(data: pd.DataFrame, spec: Spec) -> Estimate:
    if lag_name(spec) not in spec.regressors:
        raise ValueError(f"list {lag_name(spec)!r} among the regressors of a spatial_did spec")
    if spec.options.conley:           # the rows pyfixest fits, in order, for the scores
        data = within.without_singletons(data, list(spec.fixed_effects))
    model = ols.feols(spec.formula, data, spec, keep_data=bool(spec.options.conley))
    est = from_pyfixest(model, spec.formula)
    est.statistics["cutoff_km"] = spec.options.weights.cutoff_km
    est.statistics["mean_spatial_lag"] = float(data[lag_name(spec)].mean())
    if spec.options.conley:
        se = conley_se(model, data, spec)
        est.statistics.update({f"conley_se_{r}": float(se[r]) for r in spec.regressors})
    return est


def conley_se(model, data: pd.DataFrame, spec: Spec) -> pd.Series:
    """Conley standard errors of every coefficient of a fitted model (module doc)."""
    opts = spec.options
    units, first = np.unique(data[timing.unit(spec)].to_numpy(), return_index=True)
    rows = np.searchsorted(units, data[timing.unit(spec)].to_numpy())
    lon, lat = (data[c].to_numpy(float)[first] for c in coordinates(spec))
    kernel = variance.kernel_weights(distance_km(lon, lat), opts.conley.cutoff_km,
                                     opts.conley.kernel)
    x = pyfixest_model.design(model)
    scores = x * np.asarray(model.resid(), float)[:, None]
    meat = variance.conley_sums(scores, rows, data[timing.period(spec)].to_numpy(), kernel)
    bread = np.linalg.inv(x.T @ x)
    names = [term_name(str(n))[0] for n in model.coef().index]
    return pd.Series(np.sqrt(np.diag(bread @ meat @ bread)), index=names)

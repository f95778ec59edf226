"""The private pyfixest attributes the estimation layer reads (through
``models_py.estimate.pyfixest_model`` only) exist on the installed pyfixest and mean what the
adapter says, checked against public quantities and numbers computed here; a missing one is an
error naming it and the version."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from scipy import stats

from models_py.estimate import pyfixest_model

ESTIMATE = Path(__file__).resolve().parents[1] / "models_py" / "estimate"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n_units, n_years = 30, 6
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(n_years), n_units)
    z = rng.normal(size=unit.size)
    x = 0.8 * z + rng.normal(size=unit.size)
    y = 1.5 * x + 0.3 * unit / n_units + 0.1 * year + rng.normal(size=unit.size)
    frame = pd.DataFrame({"y": y, "x": x, "z": z, "unit": unit, "year": year,
                          "region": unit % 4})
    frame.loc[3, "y"] = np.nan     # one row pyfixest drops
    return frame


def test_ols_attributes_match_public_quantities(panel):
    model = pf.feols("y ~ x | unit + year", data=panel, vcov={"CRV1": "unit"})
    complete = panel.dropna()
    assert pyfixest_model.n_obs(model) == len(complete) == len(panel) - 1
    assert pyfixest_model.n_clusters(model) == complete["unit"].nunique()
    vcov = pyfixest_model.vcov(model)
    assert vcov.shape == (1, 1)
    np.testing.assert_allclose(np.sqrt(np.diag(vcov)), model.se().to_numpy(), rtol=1e-12)

    resid = np.asarray(model.resid(), float)
    y = complete["y"].to_numpy()
    total = ((y - y.mean()) ** 2).sum()
    assert pyfixest_model.r2(model) == pytest.approx(1 - resid @ resid / total)
    y_within = pf.feols("y ~ 1 | unit + year", data=complete).resid()
    assert pyfixest_model.r2_within(model) == pytest.approx(
        1 - resid @ resid / (np.asarray(y_within) @ np.asarray(y_within)))

    design = pyfixest_model.design(model)          # x demeaned by both fixed effects
    x_within = np.asarray(pf.feols("x ~ 1 | unit + year", data=complete).resid(), float)
    np.testing.assert_allclose(design[:, 0], x_within, atol=1e-6)


def test_two_way_clusters_report_the_smaller_dimension(panel):
    model = pf.feols("y ~ x | year", data=panel, vcov={"CRV1": "unit+region"})
    assert pyfixest_model.n_clusters(model) == 4


def test_iid_fit_has_no_clusters(panel):
    assert np.isnan(pyfixest_model.n_clusters(pf.feols("y ~ x", data=panel, vcov="iid")))


def test_replaced_vcov_drives_the_inference(panel):
    model = pf.feols("y ~ x", data=panel, vcov="iid")
    matrix = np.diag([0.04, 0.09])
    pyfixest_model.replace_vcov(model, matrix, 12)
    np.testing.assert_allclose(model.se().to_numpy(), [0.2, 0.3])
    assert pyfixest_model.n_clusters(model) == 12
    np.testing.assert_allclose(model.tstat().to_numpy(), model.coef().to_numpy() / [0.2, 0.3])
    np.testing.assert_allclose(model.pvalue().to_numpy(),       # t tests on G - 1 = 11 df
                               2 * stats.t.sf(np.abs(model.tstat().to_numpy()), 11))


@pytest.mark.parametrize("vcov", ["hetero", {"CRV1": "unit"}, {"CRV1": "unit+year"}])
def test_small_sample_factor_and_t_degrees_of_freedom(panel, vcov):
    """The factor turns the sandwich without one into pyfixest's covariance; the t tests'
    degrees of freedom reproduce its p-values."""
    model = pf.feols("y ~ x | unit", data=panel, vcov=vcov)
    d = panel.dropna()
    xd = d["x"].to_numpy() - d.groupby("unit")["x"].transform("mean").to_numpy()
    scores = d.assign(s=xd * np.asarray(model.resid()))
    if vcov == "hetero":
        meat = float((scores["s"] ** 2).sum())
    else:
        names = vcov["CRV1"].split("+")
        by = lambda cols: float((scores.groupby(cols)["s"].sum() ** 2).sum())  # noqa: E731
        meat = sum(by([c]) for c in names) - (by(names) if len(names) == 2 else 0)
    sandwich = meat / (xd @ xd) ** 2
    assert pyfixest_model.small_sample_factor(model) * sandwich == pytest.approx(
        pyfixest_model.vcov(model)[0, 0], rel=1e-8)
    t = float(model.tstat()["x"])
    assert 2 * stats.t.sf(abs(t), pyfixest_model.df_t(model)) == pytest.approx(
        float(model.pvalue()["x"]), rel=1e-10)


def test_a_missing_attribute_names_itself_and_the_version(panel):
    model = pf.feols("y ~ x", data=panel)
    del model._r2
    with pytest.raises(pyfixest_model.PyfixestAttributeMissing,
                       match=rf"pyfixest {pf.__version__}: Feols has no attribute '_r2'"):
        pyfixest_model.r2(model)


def test_no_other_module_reads_private_model_attributes():
    """Only the adapter touches ``model._<name>``: every other attribute access on a name
    that is not ``self`` is public."""
    found = []
    for path in ESTIMATE.rglob("*.py"):
        if path.name == "pyfixest_model.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            own = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in ("self", "cls")
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and not own):
                found.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not found, found

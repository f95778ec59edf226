"""Figures drawn from a study's stored results (PNG and SVG), one function per figure kind.

A figure in a study's YAML names its ``kind`` and the table(s) it reads; ``read(table,
part)`` returns that table's tidy coefficient rows (``part=""``), its ``"statistics"`` or one
of its frames (``"draws"``, ``"sensitivity"``, ...), as stored in the warehouse (an empty
frame where a not-estimable spec left none). A figure draws what exists: a not-estimable
point is left out, a not-estimable panel says so.

| kind | what |
|---|---|
| ``profile`` | coefficients with confidence bands along an expansion key (e.g. distance tier or lag), one panel per term or per value of another key |
| ``event_study`` | event-time coefficients of one or more estimators side by side, 95% CIs |
| ``placebo`` | the placebo distribution of randomization inference against the real estimate |
| ``sensitivity`` | Rambachan-Roth confidence sets of the average post-period effect against Mbar, per event study |
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from models_py.estimate.estimators.event_study import RESTRICTIONS  # noqa: E402
from models_py.estimate.study import Study  # noqa: E402

Reader = Callable[[str, str], pd.DataFrame]
RELATIVE_MAGNITUDES = RESTRICTIONS["rm"]
CI_COLUMNS = {90: ("ci90_low", "ci90_high"), 95: ("ci_low", "ci_high")}


def _not_estimable(ax, title: str) -> None:
    """An empty panel that says its estimate is not estimable (the table's note says why)."""
    ax.text(0.5, 0.5, "not estimable", ha="center", va="center", transform=ax.transAxes)
    ax.set_title(title)


def _ci(fig: dict) -> tuple[int, tuple[str, str]]:
    level = int(fig.get("ci", 95))
    if level not in CI_COLUMNS:
        raise ValueError(f"figure {fig['figure']!r}: ci must be one of {list(CI_COLUMNS)}")
    return level, CI_COLUMNS[level]


def profile(study: Study, fig: dict, read: Reader):
    """Coefficient profiles along the values of an expansion key (``x``), in the order the
    study expands them; ``panels.by`` is ``term`` or another expansion key. Each spec's
    reported term is drawn (``term`` picks one where a spec reports several); tick labels are
    ``x_labels[value]``, else ``x_format`` filled with the value."""
    rows = read(fig["table"], "")
    rows = rows[~rows["is_control"].astype(bool)]
    meta = rows["meta"].map(json.loads)
    x_key, by = fig["x"], fig["panels"]["by"]
    rows = rows.assign(_x=meta.map(lambda m: m.get(x_key)),
                       _panel=rows["term"] if by == "term" else meta.map(lambda m: m.get(by)))
    if "term" in fig:
        rows = rows[rows["term"] == fig["term"]]
    order = [v.get("label", str(v)) if isinstance(v, dict) else str(v)
             for v in study.expansions[(fig["table"], x_key)]]
    level, (lo, hi) = _ci(fig)
    values = fig["panels"]["values"]
    titles = fig["panels"].get("titles", {})
    figure, axes = plt.subplots(1, len(values), figsize=(5 * len(values), 4), sharey=False)
    for ax, value in zip(np.atleast_1d(axes), values):
        r = rows[rows["_panel"] == value].set_index("_x").reindex(order)
        x = np.arange(len(order))
        ax.axhline(0, color="grey", lw=0.8)
        ax.plot(x, r["estimate"], "o-", color="black", label="coefficient")
        ax.plot(x, r[lo], "--", color="tab:blue", label=f"{level}% CI")
        ax.plot(x, r[hi], "--", color="tab:blue")
        ticks = [fig.get("x_labels", {}).get(t) or fig.get("x_format", "{}").format(t)
                 for t in order]
        ax.set_xticks(x, ticks, rotation=20)
        ax.set_title(titles.get(value, f"{study.label(value)} by {study.label(x_key)}"))
        ax.set_xlabel(fig.get("x_label", study.label(x_key)))
        ax.set_ylabel(fig.get("y_label", "Coefficient"))
        ax.legend(frameon=False, fontsize=8)
    return figure


def event_study(study: Study, fig: dict, read: Reader):
    """Event-time coefficients of each series (``{table, column, label}``) with 95% CIs,
    slightly offset so the estimators sit side by side; the reference period at zero."""
    figure, ax = plt.subplots(figsize=(8, 4.5))
    series = fig["series"]
    width = 0.3 / max(len(series) - 1, 1)
    for k, s in enumerate(series):
        rows = read(s["table"], "")
        rows = rows[(rows["column"] == s.get("column", 1)) & rows["event_time"].notna()]
        stats = read(s["table"], "statistics")
        if rows.empty or stats.empty:
            continue      # not estimable: the other series are drawn
        ref = stats.loc[(stats["column"] == s.get("column", 1))
                        & (stats["statistic"] == "reference_period"), "value"]
        pts = rows[["event_time", "estimate", "ci_low", "ci_high"]]
        if len(ref):
            pts = pd.concat([pts, pd.DataFrame({"event_time": [ref.iloc[0]], "estimate": [0.0],
                                                "ci_low": [0.0], "ci_high": [0.0]})])
        pts = pts.sort_values("event_time")
        x = pts["event_time"].to_numpy() + (k - (len(series) - 1) / 2) * width
        ax.errorbar(x, pts["estimate"], yerr=[pts["estimate"] - pts["ci_low"],
                                             pts["ci_high"] - pts["estimate"]],
                    fmt="o-" if k == 0 else "s--", capsize=3, label=s["label"])
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(-0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(fig.get("x_label", "Years relative to the first treated year"))
    ax.set_ylabel(fig.get("y_label", "Coefficient (95% CI)"))
    ax.set_title(fig["title"])
    ax.legend(frameon=False)
    return figure


def placebo(study: Study, fig: dict, read: Reader):
    """Histogram of the placebo coefficients, the real estimate and the randomization p."""
    draws = read(fig["table"], "draws")
    rows = read(fig["table"], "")
    figure, ax = plt.subplots(figsize=(7, 4.5))
    if draws.empty:
        _not_estimable(ax, fig["title"])
        return figure
    stats = read(fig["table"], "statistics").set_index("statistic")["value"]
    actual = float(rows.loc[rows["term"] == fig["term"], "estimate"].iloc[0])
    ax.hist(draws["estimate"], bins=40, color="lightgrey", edgecolor="grey",
            label=f"{len(draws)} placebo assignments")
    ax.axvline(actual, color="tab:red", lw=2,
               label=f"estimate {actual:.4f} (randomization p = {stats['ri_p']:.3f})")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(fig.get("x_label", f"Coefficient on {study.label(fig['term'])}"))
    ax.set_ylabel("Draws")
    ax.set_title(fig["title"])
    ax.legend(frameon=False, fontsize=8)
    return figure


def sensitivity(study: Study, fig: dict, read: Reader):
    """Rambachan-Roth confidence sets (relative magnitudes) of the average post-period effect
    against Mbar, one series per event study side by side, the usual 95% interval (parallel
    trends exact) at the left."""
    s = read(fig["table"], "sensitivity")
    figure, ax = plt.subplots(figsize=(7, 4.5))
    if s.empty:
        _not_estimable(ax, fig["title"])
        return figure
    s = s[s["method"].eq("original") | s["restriction"].eq(RELATIVE_MAGNITUDES)]
    values = sorted(s.loc[s["method"] != "original", "value"].unique())
    ticks = ["parallel trends", *(f"{v:g}" for v in values)]
    estimators = list(dict.fromkeys(s["estimator"]))
    width = 0.6 / max(len(estimators), 1)
    for k, (name, color) in enumerate(zip(estimators, plt.cm.tab10.colors)):
        one = s[s["estimator"] == name]
        x = [0 if r.method == "original" else 1 + values.index(r.value)
             for r in one.itertuples()]
        x = np.array(x) + (k - (len(estimators) - 1) / 2) * width
        ax.vlines(x, one["lower"], one["upper"], color=color, lw=3, label=name)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(ticks)), ticks)
    ax.set_xlabel("Mbar (largest post-period change of the trend violation relative to the "
                  "largest pre-period change)")
    ax.set_ylabel(fig.get("y_label", "Effect"))
    ax.set_title(fig["title"])
    ax.legend(frameon=False, fontsize=8)
    return figure


KINDS = {"profile": profile, "event_study": event_study, "placebo": placebo,
         "sensitivity": sensitivity}
# The keys each kind reads without a default (models_py.estimate.schema checks them).
REQUIRED = {"profile": ("table", "x", "panels"), "event_study": ("series",),
            "placebo": ("table", "term"), "sensitivity": ("table",)}


def figure_tables(fig: dict) -> list[str]:
    """The study tables a figure reads."""
    return list(dict.fromkeys([fig["table"]] if "table" in fig
                              else [s["table"] for s in fig["series"]]))


def draw(study: Study, fig: dict, read: Reader, out_dir: Path) -> dict[str, Path]:
    """Draw one figure of a study and save it as ``<figure>.png`` and ``.svg``."""
    try:
        kind = KINDS[fig["kind"]]
    except KeyError:
        raise ValueError(f"figure {fig['figure']!r}: unknown kind {fig.get('kind')!r}; "
                         f"expected one of {sorted(KINDS)}") from None
    figure = kind(study, fig, read)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"png": out_dir / f"{fig['figure']}.png", "svg": out_dir / f"{fig['figure']}.svg"}
    figure.tight_layout()
    figure.savefig(files["png"], dpi=150)
    figure.savefig(files["svg"])
    plt.close(figure)
    return files

"""Publish tidy coefficient rows: regression tables (Markdown, HTML, LaTeX) in the style of the
seed papers, descriptive statistics, and coefficient figures (PNG and SVG).

Table style: one column per spec, ``(1) (2) ...`` on top, the outcome under it; each regressor's
coefficient with stars (* p<0.1, ** p<0.05, *** p<0.01) and its clustered standard error in
parentheses below; Yes/No rows for the control groups and the fixed effects; Observations and
R-squared at the bottom.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tabulate import tabulate  # noqa: E402

from models_py.estimate.specs import Spec, Study  # noqa: E402

NOTE = ("Standard errors clustered by city pair in parentheses. "
        "*** p<0.01, ** p<0.05, * p<0.1.")
TIERS = ["0-200", "200-500", "500-1000", "1000-2000", "2000-4000"]


def stars(p: float) -> str:
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return ""
    if x != 0 and abs(x) < 0.001:
        return f"{x:.2e}"
    return f"{x:.3f}"


@dataclass
class Grid:
    """A rendered table: header rows, body rows (first cell = row label), a title and note."""
    title: str
    header: list[list[str]]
    body: list[list[str]]
    note: str = NOTE
    se_rows: frozenset = frozenset()   # body row indices holding standard errors


def regression_grid(study: Study, specs: list[Spec], rows: pd.DataFrame, title: str) -> Grid:
    n = len(specs)
    header = [[""] + [f"({k})" for k in range(1, n + 1)]]
    labels = [s.label for s in specs]
    if any(lbl and lbl != study.label(s.outcome) for lbl, s in zip(labels, specs)):
        header.append([""] + labels)
    header.append(["VARIABLES"] + [study.label(s.outcome) for s in specs])
    terms = list(dict.fromkeys(t for s in specs for t in s.regressors))
    body, se_rows = [], set()
    key = rows.set_index(["column", "term"])
    for term in terms:
        coef, se = [study.label(term)], [""]
        for s in specs:
            if (s.column, term) in key.index and term in s.regressors:
                r = key.loc[(s.column, term)]
                coef.append(num(r["estimate"]) + stars(r["p"]))
                se.append(f"({num(r['std_error'])})")
            else:
                coef.append("")
                se.append("")
        body.append(coef)
        se_rows.add(len(body))
        body.append(se)
    groups = list(dict.fromkeys(g for g in study.control_groups))
    for g in groups:
        body.append([study.label(g)] + ["Yes" if g in s.controls else "No" for s in specs])
    for fe in dict.fromkeys(f for s in specs for f in s.fixed_effects):
        body.append([study.label(fe)] + ["Yes" if fe in s.fixed_effects else "No" for s in specs])
    first = rows.drop_duplicates("column").set_index("column")
    body.append(["Observations"] + [f"{int(first.loc[s.column, 'n_obs']):,}"
                                    if s.column in first.index else "" for s in specs])
    body.append(["R-squared"] + [f"{first.loc[s.column, 'r2']:.3f}"
                                 if s.column in first.index else "" for s in specs])
    return Grid(title, header, body, se_rows=frozenset(se_rows))


def descriptive_grid(df: pd.DataFrame, variables: list[str], study: Study, title: str) -> Grid:
    body = []
    for v in variables:
        x = df[v].astype(float)
        body.append([study.label(v), f"{x.count():,}", num(x.mean()), num(x.median()),
                     num(x.std()), num(x.min()), num(x.max())])
    return Grid(title, [["Variable", "N", "Mean", "Median", "Std", "Min", "Max"]], body,
                note="Pair-period observations of marts.city_pair_period.")


def descriptive_frame(df: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    d = df[variables].astype(float)
    return pd.DataFrame({"variable": variables, "n": d.count().values, "mean": d.mean().values,
                         "median": d.median().values, "std": d.std().values,
                         "min": d.min().values, "max": d.max().values})


# ------------------------------------------------------------------------------ renderers

def to_markdown(g: Grid) -> str:
    head = g.header[-1]
    extra = [r for r in g.header[:-1]]
    body = extra + g.body if extra else g.body
    # Markdown has one header row: put the column numbers there, the other header rows first
    if extra:
        head, body = g.header[0], g.header[1:] + g.body
    text = tabulate(body, headers=head, tablefmt="github", disable_numparse=True)
    return f"**{g.title}**\n\n{text}\n\n{g.note}\n"


def to_html(g: Grid) -> str:
    esc = html.escape
    out = ["<table class=\"regression\">", f"<caption>{esc(g.title)}</caption>", "<thead>"]
    for r in g.header:
        out.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in r) + "</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    for k, r in enumerate(g.body):
        cls = ' class="se"' if k in g.se_rows else ""
        out.append(f"<tr{cls}><td>{esc(r[0])}</td>"
                   + "".join(f"<td>{esc(c)}</td>" for c in r[1:]) + "</tr>")
    ncol = len(g.header[0])
    out.append(f"</tbody><tfoot><tr><td colspan=\"{ncol}\">{esc(g.note)}</td></tr></tfoot>")
    out.append("</table>")
    style = ("<style>table.regression{border-collapse:collapse;font-family:serif}"
             "table.regression th,table.regression td{padding:2px 8px;text-align:center}"
             "table.regression td:first-child{text-align:left}"
             "table.regression thead{border-top:2px solid;border-bottom:1px solid}"
             "table.regression tbody{border-bottom:2px solid}</style>")
    return style + "\n" + "\n".join(out) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}",
                  "×": r"$\times$"}


def _tex(s: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in s)


def _tex_cell(s: str) -> str:
    for st in ("***", "**", "*"):
        if s.endswith(st) and s[:-len(st)]:
            return _tex(s[:-len(st)]) + "$^{" + st + "}$"
    return _tex(s)


def to_latex(g: Grid) -> str:
    ncol = len(g.header[0])
    lines = [r"\begin{table}[htbp]\centering", rf"\caption{{{_tex(g.title)}}}",
             r"\begin{tabular}{l" + "c" * (ncol - 1) + "}", r"\hline\hline"]
    for r in g.header:
        lines.append(" & ".join(_tex(c) for c in r) + r" \\")
    lines.append(r"\hline")
    n_terms = max(g.se_rows) + 1 if g.se_rows else 0
    for k, r in enumerate(g.body):
        if k == n_terms and n_terms:
            lines.append(r"\hline")
        lines.append(" & ".join(_tex_cell(c) for c in r) + r" \\")
    lines += [r"\hline\hline",
              rf"\multicolumn{{{ncol}}}{{l}}{{\footnotesize {_tex(g.note)}}} \\",
              r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(g: Grid, out_dir: Path, stem: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"md": out_dir / f"{stem}.md", "html": out_dir / f"{stem}.html",
             "tex": out_dir / f"{stem}.tex"}
    files["md"].write_text(to_markdown(g), encoding="utf-8")
    files["html"].write_text(to_html(g), encoding="utf-8")
    files["tex"].write_text(to_latex(g), encoding="utf-8")
    return files


# ---------------------------------------------------------------------- study tables

def table_grids(study: Study, rows: pd.DataFrame, table: str) -> dict[str, Grid]:
    """The grids of one study table: one, or one per factor for the mechanism table."""
    info = study.table_info(table)
    specs = study.table_specs(table)
    trows = rows[rows["table"] == table]
    if table == "mechanisms":
        out = {}
        for factor in dict.fromkeys(s.meta["factor"] for s in specs):
            sub = [s for s in specs if s.meta["factor"] == factor]
            renum = [_renumber(s, k) for k, s in enumerate(sub, start=1)]
            cols = {s.column: k for k, s in enumerate(sub, start=1)}
            r = trows[trows["column"].isin(cols)].assign(column=lambda d: d["column"].map(cols))
            out[f"{table}_{factor}"] = regression_grid(
                study, renum, r, f"{info['title']}: {factor}")
        return out
    return {table: regression_grid(study, specs, trows, info["title"])}


def _renumber(s: Spec, k: int) -> Spec:
    from dataclasses import replace
    return replace(s, column=k)


def coefficient_frame(rows: pd.DataFrame, table: str, term: str) -> pd.DataFrame:
    r = rows[(rows["table"] == table) & (rows["term"] == term)].copy()
    meta = r["meta"].map(json.loads)
    r["tier"] = meta.map(lambda m: m.get("tier"))
    r["gradient"] = meta.map(lambda m: m.get("gradient"))
    r["regressor"] = meta.map(lambda m: m.get("regressor"))
    return r


def _panel(ax, r: pd.DataFrame, title: str) -> None:
    r = r.set_index("tier").reindex(TIERS)
    x = np.arange(len(TIERS))
    ax.axhline(0, color="grey", lw=0.8)
    ax.plot(x, r["estimate"], "o-", color="black", label="coefficient")
    ax.plot(x, r["ci90_low"], "--", color="tab:blue", label="90% CI")
    ax.plot(x, r["ci90_high"], "--", color="tab:blue")
    ax.set_xticks(x, [f"{t} km" for t in TIERS], rotation=20)
    ax.set_title(title)
    ax.set_xlabel("Distance tier")
    ax.set_ylabel("Coefficient on IT")
    ax.legend(frameon=False, fontsize=8)


def _save(fig, out_dir: Path, stem: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"png": out_dir / f"{stem}.png", "svg": out_dir / f"{stem}.svg"}
    fig.tight_layout()
    fig.savefig(files["png"], dpi=150)
    fig.savefig(files["svg"])
    plt.close(fig)
    return files


def distance_tier_figure(study: Study, rows: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, term in zip(axes, ("connectivity_hsr", "connectivity_i")):
        r = coefficient_frame(rows, "distance_tiers", term)
        r = r[r["regressor"] == term]
        _panel(ax, r, f"{study.label(term)} by distance tier")
    return _save(fig, out_dir, "distance_tiers")


def synergy_figure(study: Study, rows: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    r = coefficient_frame(rows, "synergy", "connectivity_double")
    for ax, (g, name) in zip(axes, (("down", "Down-gradient (developed → less-developed)"),
                                   ("up", "Up-gradient (less-developed → developed)"))):
        _panel(ax, r[r["gradient"] == g], f"connectivity_double: {name}")
    return _save(fig, out_dir, "synergy")

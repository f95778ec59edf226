"""Render tidy results as tables in the style of the seed papers: Markdown, HTML and LaTeX.

A :class:`Grid` is a table laid out as text cells; the three writers only format a grid. The
grids are built from the warehouse's tidy rows, never from fitted models, so a table renders
again without refitting. Regression style: one column per spec, ``(1) (2) ...`` on top, the
outcome under it; each reported term's coefficient with stars (* p<0.1, ** p<0.05,
*** p<0.01) and its standard error in parentheses below; Yes/No rows for the control groups
the columns use and for the fixed effects; a row for each of clustering, sample and estimator
on which the columns differ ("Clustered by", "Sample", "Estimator"); the table's diagnostic
statistics; Observations and R-squared. The note under a table is derived from its specs: what
all columns share (standard errors, fixed effects) is said once, what differs is shown per
column, so changing the clustering in a study's YAML changes the printed table.

(pyfixest's ``etable`` and ``maketables`` lay out fitted model objects; here tables come from
stored rows, and also hold estimates that no pyfixest model carries: placebo, matching,
spatial lags.)
"""
from __future__ import annotations

import html
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from models_py.estimate import estimators
from models_py.estimate.estimators import wild_bootstrap
from models_py.estimate.study import Spec, Study
from models_py.estimate.tidy import not_estimable

STARS = "*** p<0.01, ** p<0.05, * p<0.1."
NOT_ESTIMABLE_CELL = "not estimable"


def stars(p: float) -> str:
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def num(x) -> str:
    """A number as printed in tables: 3 decimals, scientific below 0.001, blank if missing."""
    if x is None or isinstance(x, str):
        return x or ""
    if not np.isfinite(x):
        return "" if np.isnan(x) else ("inf" if x > 0 else "-inf")
    if x != 0 and abs(x) < 0.001:
        return f"{x:.2e}"
    return f"{x:.3f}"


@dataclass
class Grid:
    """A rendered table: header rows, body rows (first cell = row label), a title and note."""
    title: str
    header: list[list[str]]
    body: list[list[str]]
    note: str = ""
    se_rows: frozenset = frozenset()   # body row indices holding standard errors
    rule_before: int | None = None     # body row index that a rule separates (LaTeX, HTML)


# ------------------------------------------------------------------------------ notes

def _names(study: Study, variables) -> str:
    words = [str(study.names.get(v, v)) for v in dict.fromkeys(variables)]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _differ(specs: list[Spec], field: str) -> bool:
    return len({getattr(s, field) for s in specs}) > 1


def regression_note(study: Study, specs: list[Spec], extra: str = "") -> str:
    """The note of a regression table, from its specs' vcov and fixed effects: said once when
    every column shares them, else pointing to the per-column rows."""
    if _differ(specs, "cluster"):
        se = ("Standard errors in parentheses, clustered as the row \"Clustered by\" says "
              "(heteroskedasticity-robust where it says none).")
    elif specs and specs[0].cluster:
        se = f"Standard errors clustered by {_names(study, [specs[0].cluster])} in parentheses."
    else:
        se = "Heteroskedasticity-robust standard errors in parentheses."
    fes = [] if _differ(specs, "fixed_effects") else [f for s in specs for f in s.fixed_effects]
    fe = f" {_names(study, fes).capitalize()} fixed effects." if fes else ""
    return " ".join(p for p in (se + fe, bootstrap_note(study, specs), STARS, extra) if p)


def per_column_rows(study: Study, specs: list[Spec]) -> list[list[str]]:
    """A row for each of clustering, sample and estimator on which the columns differ (fixed
    effects have their Yes/No rows)."""
    rows = []
    if _differ(specs, "cluster"):
        rows.append(["Clustered by"] + [str(study.names.get(s.cluster, s.cluster)) or "none"
                                        for s in specs])
    if _differ(specs, "sample"):
        rows.append(["Sample"] + [s.sample or "all" for s in specs])
    if _differ(specs, "kind"):
        rows.append(["Estimator"] + [estimators.KINDS[s.kind].LABEL for s in specs])
    return rows


def bootstrap_note(study: Study, specs: list[Spec]) -> str:
    """The sentence on wild cluster bootstrap p-values, if any spec of the table has them."""
    booted = [s for s in specs if wild_bootstrap.settings(s)]
    if not booted:
        return ""
    opt = wild_bootstrap.settings(booted[0])
    iv = (" (2SLS columns: the Anderson–Rubin test, bootstrapped in the reduced form)"
          if any(s.kind == "iv" for s in booted) else "")
    return (f"Wild cluster bootstrap p-values in brackets{iv}: null imposed, "
            f"{opt.weights.capitalize()} weights, {opt.reps:,} replications, "
            f"clusters by {_names(study, [s.cluster for s in booted])}.")


# ------------------------------------------------------------------------------ grids

def term_label(study: Study, term: str, event_time: float) -> str:
    if term in study.labels or not np.isfinite(event_time):
        return study.label(term)
    return f"{study.label('event_time')} {event_time:+g}".replace("+0", "0")


def not_estimable_note(unsupported: dict[int, str]) -> str:
    """The sentence naming each not-estimable column of a table and why."""
    return " ".join(f"Column ({c}) not estimable: {reason}." for c, reason in unsupported.items())


def regression_grid(study: Study, info: dict, specs: list[Spec], rows: pd.DataFrame,
                    statistics: pd.DataFrame, title: str | None = None) -> Grid:
    """One regression table: coefficient and standard-error rows of the reported terms (the
    table's ``terms``, else every non-control term in order), control and fixed-effect rows,
    the table's ``statistics`` rows, Observations and R-squared. A column the data cannot
    support reads "not estimable" in the cells of its regressors (the first row, when none of
    them is shown), and the note says why."""
    n = len(specs)
    header = [[""] + [f"({k})" for k in range(1, n + 1)]]
    labels = [s.label for s in specs]
    if any(lbl and lbl != study.label(s.outcome) for lbl, s in zip(labels, specs)):
        header.append([""] + labels)
    header.append(["VARIABLES"] + [study.label(s.outcome) for s in specs])
    unsupported = {c: r for c, r in not_estimable(rows).items()
                   if c in {s.column for s in specs}}
    rows = rows[rows["term"].notna()]
    shown = rows[~rows["is_control"].astype(bool)]
    terms = (info.get("terms") or list(dict.fromkeys(shown["term"]))
             or list(dict.fromkeys(r for s in specs for r in s.regressors)))
    level = dict(zip(shown["term"], shown["event_time"]))
    key = rows.set_index(["column", "term"])
    body, se_rows = [], set()
    for term in terms:
        coef, se, boot = [term_label(study, term, level.get(term, np.nan))], [""], [""]
        for s in specs:
            if s.column in unsupported:
                marked = term in s.regressors or (term == terms[0]
                                                  and not set(s.regressors) & set(terms))
                coef.append(NOT_ESTIMABLE_CELL if marked else "")
                se.append("")
                boot.append("")
            elif (s.column, term) in key.index:
                r = key.loc[(s.column, term)]
                coef.append(num(r["estimate"]) + stars(r["p"]))
                se.append(f"({num(r['std_error'])})")
                wild = float(r.get("wild_p", np.nan))
                boot.append(f"[{num(wild)}]" if np.isfinite(wild) else "")
            else:
                coef.append("")
                se.append("")
                boot.append("")
        body.append(coef)
        se_rows.add(len(body))
        body.append(se)
        if any(boot[1:]):
            se_rows.add(len(body))
            body.append(boot)
    rule = len(body)
    for g in study.control_groups:
        if any(g in s.controls for s in specs):
            body.append([study.label(g)] + ["Yes" if g in s.controls else "No" for s in specs])
    for fe in dict.fromkeys(f for s in specs for f in s.fixed_effects):
        body.append([study.label(fe)] + ["Yes" if fe in s.fixed_effects else "No" for s in specs])
    body += per_column_rows(study, specs)
    stat = statistics.set_index(["column", "statistic"])["value"] if len(statistics) else {}
    for name in info.get("statistics", []):
        body.append([study.label(name)] + [num(stat.get((s.column, name), np.nan))
                                           for s in specs])
    first = rows.drop_duplicates("column").set_index("column")
    body.append(["Observations"] + [f"{int(first.loc[s.column, 'n_obs']):,}"
                                    if s.column in first.index else "" for s in specs])
    r2 = [first.loc[s.column, "r2"] if s.column in first.index else np.nan for s in specs]
    if any(np.isfinite(r2)):
        body.append(["R-squared"] + [f"{v:.3f}" if np.isfinite(v) else "" for v in r2])
    note = regression_note(study, specs, " ".join(
        p for p in (info.get("note", ""), not_estimable_note(unsupported)) if p))
    return Grid(title or info["title"], header, body, note, frozenset(se_rows), rule)


def table_grids(study: Study, table: str, rows: pd.DataFrame, statistics: pd.DataFrame
                ) -> dict[str, Grid]:
    """The regression grids of one table, by file stem: one, or one per value of the
    expansion key named by the table's ``split_by`` (columns renumbered from 1)."""
    info = study.table_info(table)
    specs = study.table_specs(table)
    by = info.get("split_by")
    if not by:
        return {table: regression_grid(study, info, specs, rows, statistics)}
    out = {}
    for value in dict.fromkeys(s.meta[by] for s in specs):
        sub = [s for s in specs if s.meta[by] == value]
        number = {s.column: k for k, s in enumerate(sub, start=1)}
        renum = lambda d: d[d["column"].isin(number)].assign(  # noqa: E731
            column=lambda x: x["column"].map(number))
        out[f"{table}_{value}"] = regression_grid(
            study, info, [replace(s, column=number[s.column]) for s in sub], renum(rows),
            renum(statistics) if len(statistics) else statistics, f"{info['title']}: {value}")
    return out


def descriptive_frame(df: pd.DataFrame, variables: list[str]) -> pd.DataFrame:
    d = df[variables].astype(float)
    return pd.DataFrame({"variable": variables, "n": d.count().values, "mean": d.mean().values,
                         "median": d.median().values, "std": d.std().values,
                         "min": d.min().values, "max": d.max().values})


def descriptive_grid(stats: pd.DataFrame, study: Study, title: str, relation: str,
                     sample: str = "") -> Grid:
    body = [[study.label(r.variable), f"{int(r.n):,}", num(r.mean), num(r.median), num(r.std),
             num(r.min), num(r.max)] for r in stats.itertuples()]
    where = f" where {sample}" if sample else ""
    return Grid(title, [["Variable", "N", "Mean", "Median", "Std", "Min", "Max"]], body,
                note=f"Observations of {relation}{where}.")


def frame_grid(frame: pd.DataFrame, columns: dict[str, str], title: str, note: str = "",
               study: Study | None = None, formats: dict[str, str] | None = None) -> Grid:
    """A plain table of a frame's ``columns`` (column -> header); numbers formatted as in
    regression tables (whole numbers with thousands separators), or by ``formats`` (column ->
    Python format, e.g. ``"{:.0f}"`` for a year), text cells through the study's labels."""
    formats = formats or {}
    body = []
    for _, r in frame.iterrows():
        cells = []
        for c in columns:
            v = r[c]
            if c in formats and v is not None and not pd.isna(v):
                cells.append(formats[c].format(v))
            elif isinstance(v, str):
                cells.append(study.label(v) if study else v)
            elif isinstance(v, (int, np.integer)):
                cells.append(f"{v:,}")
            else:
                cells.append(num(float(v)) if v is not None else "")
        body.append(cells)
    return Grid(title, [list(columns.values())], body, note)


# ------------------------------------------------------------------------------ writers

def to_markdown(g: Grid) -> str:
    # Markdown has one header row: the column numbers; other header rows open the body
    head, body = g.header[0], g.header[1:] + g.body
    text = tabulate(body, headers=head, tablefmt="github", disable_numparse=True)
    note = f"\n\n{g.note}" if g.note else ""
    return f"**{g.title}**\n\n{text}{note}\n"


def to_html(g: Grid) -> str:
    esc = html.escape
    out = ["<table class=\"regression\">", f"<caption>{esc(g.title)}</caption>", "<thead>"]
    for r in g.header:
        out.append("<tr>" + "".join(f"<th>{esc(c)}</th>" for c in r) + "</tr>")
    out.append("</thead>")
    out.append("<tbody>")
    for k, r in enumerate(g.body):
        cls = ' class="se"' if k in g.se_rows else (
            ' class="rule"' if k == g.rule_before and k else "")
        out.append(f"<tr{cls}><td>{esc(r[0])}</td>"
                   + "".join(f"<td>{esc(c)}</td>" for c in r[1:]) + "</tr>")
    ncol = len(g.header[0])
    out.append(f"</tbody><tfoot><tr><td colspan=\"{ncol}\">{esc(g.note)}</td></tr></tfoot>")
    out.append("</table>")
    style = ("<style>table.regression{border-collapse:collapse;font-family:serif}"
             "table.regression th,table.regression td{padding:2px 8px;text-align:center}"
             "table.regression td:first-child{text-align:left}"
             "table.regression thead{border-top:2px solid;border-bottom:1px solid}"
             "table.regression tr.rule{border-top:1px solid}"
             "table.regression tbody{border-bottom:2px solid}</style>")
    return style + "\n" + "\n".join(out) + "\n"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}",
                  "×": r"$\times$", "≤": r"$\leq$", "≥": r"$\geq$", "−": "-"}


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
    for k, r in enumerate(g.body):
        if k == g.rule_before and k:
            lines.append(r"\hline")
        lines.append(" & ".join(_tex_cell(c) for c in r) + r" \\")
    lines.append(r"\hline\hline")
    if g.note:
        lines.append(rf"\multicolumn{{{ncol}}}{{l}}{{\footnotesize {_tex(g.note)}}} \\")
    lines += [r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(g: Grid, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``<stem>.md``, ``.html`` and ``.tex``; return them by extension."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"md": out_dir / f"{stem}.md", "html": out_dir / f"{stem}.html",
             "tex": out_dir / f"{stem}.tex"}
    files["md"].write_text(to_markdown(g), encoding="utf-8")
    files["html"].write_text(to_html(g), encoding="utf-8")
    files["tex"].write_text(to_latex(g), encoding="utf-8")
    return files

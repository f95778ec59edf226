"""Treatment timing of a unit-time panel, as the DID kinds read it from a spec's options.

The study's ``panel`` block sets the defaults every spec inherits: ``unit`` and ``time``
columns, ``cohort`` (the first treated period of a unit, missing for never-treated units) and
``treatment`` (the 0/1 treated-and-post indicator). Event-study kinds add ``window: [lo, hi]``
(event times beyond are binned into the endpoints) and ``reference`` (the omitted period).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from models_py.estimate.study import Spec

EVENT_TIME = "event_time"


class Panel(BaseModel):
    """The options every estimator kind takes: the panel's treatment timing. A kind declares
    its own options as a subclass (``Options`` in its module); an unknown key is an error."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str | None = None          # unit column, e.g. city_id
    time: str | None = None          # period column, e.g. year
    cohort: str | None = None        # first treated period; missing for never-treated units
    treatment: str | None = None     # 0/1 treated-and-post indicator
    group: str | None = None         # ever-treated indicator (matching)
    window: tuple[int, int] | None = None   # event times beyond are binned into the endpoints
    reference: int = -1              # the omitted event time

    def relations(self) -> list[str]:
        """Warehouse relations the options name (read beside the mart)."""
        return []


def option(spec: Spec, name: str):
    value = getattr(spec.options, name, None)
    if value is None:
        raise KeyError(f"{spec.kind} needs option {name!r} (set it in the study's panel block, "
                       f"the table or the column)")
    return value


def unit(spec: Spec) -> str:
    return option(spec, "unit")


def period(spec: Spec) -> str:
    return option(spec, "time")


def cohort(spec: Spec) -> str:
    return option(spec, "cohort")


def treatment(spec: Spec) -> str:
    return option(spec, "treatment")


def reference(spec: Spec) -> int:
    return spec.options.reference


def window(spec: Spec) -> tuple[int, int]:
    lo, hi = option(spec, "window")
    return int(lo), int(hi)


def event_time(panel: pd.DataFrame, spec: Spec) -> pd.Series:
    """Event time of every row, binned at the window's endpoints; never-treated units get the
    reference period, so every event-time dummy is zero for them."""
    lo, hi = window(spec)
    rel = panel[period(spec)].astype(float) - panel[cohort(spec)].astype(float)
    return rel.clip(lo, hi).fillna(reference(spec)).astype(float)


def with_event_time(panel: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    return panel.assign(**{EVENT_TIME: event_time(panel, spec)})


def unit_cohorts(data: pd.DataFrame, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """The units of a sample and each unit's cohort (NaN for never-treated)."""
    first = data.groupby(unit(spec), sort=True)[cohort(spec)].first()
    return first.index.to_numpy(), first.to_numpy(float)

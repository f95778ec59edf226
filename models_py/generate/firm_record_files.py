"""Firm-record files (raw-source contract, section 7): the firm-year records of the county world,
one file per year, CSV (GBK or UTF-8, with or without BOM) or Parquet.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from models_py.generate.county_world import CountyWorld

# Firm records: CSV (with its encoding) or Parquet by year.
ASIF_FORMATS = {1998: "gbk", 1999: "parquet", 2000: "utf-8", 2001: "parquet", 2002: "utf-8-sig",
                2003: "parquet", 2004: "gbk", 2005: "parquet", 2006: "parquet", 2007: "utf-8"}


def write_asif(out_dir: Path, county: CountyWorld, year: int) -> Path:
    """``asif/asif_<year>.csv|.parquet``: the firm records of one year, codes as text."""
    years = county.firms["年份"].to_numpy()
    lo, hi = np.searchsorted(years, [year, year + 1])  # firm records are sorted by year
    firms = county.firms.iloc[lo:hi]
    kind = ASIF_FORMATS.get(year, "parquet" if year % 2 else "utf-8")
    emp = firms["从业人数"].to_numpy(float)
    output = firms["工业总产值(千元)"].to_numpy(float)

    def text(column: str) -> pa.Array:
        return pa.array(firms[column]).dictionary_decode().cast(pa.string())

    table = pa.table({
        "法人代码": text("法人代码"), "行政区划代码": text("行政区划代码"),
        "行业代码": text("行业代码"),
        "年份": pa.array(firms["年份"].to_numpy(), pa.int32()),
        "工业总产值(千元)": (pa.array(output, pa.float64()) if kind == "parquet"
                        else pa.array(output.astype(np.int64), pa.int64())),
        "从业人数": pa.array(np.nan_to_num(emp).astype(np.int64), pa.int64(), mask=np.isnan(emp)),
        "开业年份": pa.array(firms["开业年份"].to_numpy(), pa.int32()),
        "登记注册类型": text("登记注册类型"),
    })
    if kind == "parquet":
        path = out_dir / "asif" / f"asif_{year}.parquet"
        pq.write_table(table, path, compression="zstd")
        return path
    # The body is ASCII (codes and numbers), so only the header depends on the encoding.
    path = out_dir / "asif" / f"asif_{year}.csv"
    with path.open("wb") as f:
        f.write((",".join(table.column_names) + "\n").encode(kind))
        pacsv.write_csv(table, f, pacsv.WriteOptions(include_header=False,
                                                     quoting_style="none"))
    return path

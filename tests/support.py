"""Helpers for tests: real Dagster materializations into a temporary DuckDB file, what to read
back from them, and hand-written raw files shared by several modules."""
from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl


def materialize(assets, raw_dir: Path, db_path: Path, selection=None,
                publish_dir: Path | None = None,
                instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    """Materialize real assets against ``raw_dir`` and the DuckDB file ``db_path`` (published
    files go to ``publish_dir``, default ``publish/`` beside the database)."""
    from dagster_project.resources import resources

    publish_dir = publish_dir or Path(db_path).parent / "publish"
    return dg.materialize(assets, selection=selection, raise_on_error=False, instance=instance,
                          resources=resources(db_path, raw_dir, publish_dir))


def run_log(instance: dg.DagsterInstance, run_id: str) -> str:
    """Every message a run logged (the assets' own log lines included), one per line."""
    return "\n".join(entry.user_message for entry in instance.all_logs(run_id))


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The error text of the first failed step."""
    for event in result.all_events:
        if event.is_step_failure:
            err = event.step_failure_data.error
            while err.cause is not None and "IngestError" not in err.cls_name:
                err = err.cause
            return err.message
    raise AssertionError("no step failed")


def warehouse_state(db_path: Path) -> dict:
    """Every table of the warehouse with its row count and a hash of its contents."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*), sum(hash(t)) FROM {s}."{t}" t').fetchone()
                for s, t in tables}


def digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def decode(data: bytes) -> tuple[str, str]:
    """The text of a raw CSV file and its encoding: UTF-8 with BOM, UTF-8, else GBK."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("gbk"), "gbk"


# A city yearbook file of the small default that is CSV, changed by the refresh tests.
YEARBOOK_2014 = "yearbook/city_yearbook_2014.csv"


def change_last_digit(path: Path, to: bytes | None = None) -> None:
    """Change the last digit of a CSV file (to the next digit, or to ``to``): the same layout,
    one value different."""
    data = path.read_bytes().rstrip(b"\n")
    at = max(data.rfind(bytes([c])) for c in b"0123456789")
    digit = to or (b"8" if data[at:at + 1] == b"9" else bytes([data[at] + 1]))
    path.write_bytes(data[:at] + digit + data[at + 1:] + b"\n")


def executable_assets(defs) -> list:
    """Every asset of the definitions that a full refresh materializes: all that Dagster can
    materialize but the replication packages, which are built on demand."""
    from dagster_project.assets.replication import PREFIX

    return [a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.is_executable
            and not any(k.path[0] == PREFIX for k in a.keys)]


def refresh_checks(defs) -> list:
    """Every asset check a refresh job runs: all of the definitions' but the freshness checks,
    which their own sensor evaluates."""
    from dagster_project.freshness import is_freshness_check

    return [c for c in defs.asset_checks if not is_freshness_check(c)]


# --- a hand-written city yearbook: GBK with title rows, 亿元 and 人, short and historical names

YEARBOOK_2010_GBK = """中国城市统计年鉴2011
单位：见各列
城市,行政区划代码,地区生产总值(亿元),年末户籍人口(人),当年实际使用外资金额(万美元),地区生产总值(万元)_市辖区,城市书店数(个)
石家庄,130100,"3,401.02",9876543,"12,345",1500000,7
襄樊市,,1538.3,—,100,-,3
"""


def write_city_yearbooks(raw):
    (raw / "yearbook").mkdir(parents=True)
    (raw / "yearbook" / "city_yearbook_2010.csv").write_bytes(YEARBOOK_2010_GBK.encode("gbk"))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2012年城市主要指标"])
    ws.append(["地区", "地区生产总值(万元)_全市", "人均地区生产总值(元)", "城镇人口比重(%)"])
    ws.append(["北京市", 17879400, 87475, 86.2])
    ws.append(["襄阳", 2501960.5, "N/A", 55.0])
    wb.save(raw / "yearbook" / "city_yearbook_2012.xlsx")

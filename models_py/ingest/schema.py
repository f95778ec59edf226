"""The raw schema: every table the loaders write, by source, its columns in order and their
DuckDB types. This is the one list of raw tables: ``models_py.ingest.SOURCES`` takes each
source's tables from it, and dbt's ``sources.yml`` declares the same tables (a test compares).

The warehouse creates each raw table with exactly these columns and types, whether a load fills
it or its source is absent and it stays empty; dbt's staging models read them, so an empty
table still has the types every downstream model expects. Loaders order their output by these
columns, and the tests check that what the loaders produce has these types.
"""
from __future__ import annotations

_PLACE_YEAR_VALUES = {
    "year": "BIGINT", "variable": "VARCHAR", "scope": "VARCHAR", "value": "DOUBLE",
    "unit": "VARCHAR", "indicator": "VARCHAR", "source_unit": "VARCHAR",
    "source_value": "DOUBLE", "source_file": "VARCHAR", "source_row": "BIGINT",
    "source_column": "VARCHAR"}

RAW_SCHEMA: dict[str, dict[str, dict[str, str]]] = {   # source -> its tables -> columns
    # City and County Statistical Yearbooks: one row per place, year and indicator column.
    "city_yearbook": {"city_yearbook": {"city_id": "VARCHAR", **_PLACE_YEAR_VALUES}},
    "county_yearbook": {"county_yearbook": {"county_id": "VARCHAR", **_PLACE_YEAR_VALUES}},
    # EPS exports: one row per region, year and indicator.
    "eps": {"eps": {
        "region_level": "VARCHAR", "region_id": "VARCHAR", "year": "BIGINT",
        "variable": "VARCHAR", "value": "DOUBLE", "unit": "VARCHAR", "indicator": "VARCHAR",
        "source_unit": "VARCHAR", "source_value": "DOUBLE", "source_file": "VARCHAR",
        "source_sheet": "VARCHAR", "source_row": "BIGINT"}},
    # CEADs city MRIO tables (models_py/ingest/ceads/__init__.py describes each block).
    "ceads_mrio": {
        "ceads_region": {
            "year": "INTEGER", "position": "INTEGER", "city_id": "VARCHAR",
            "region_name": "VARCHAR"},
        "ceads_sector": {
            "year": "INTEGER", "position": "INTEGER", "sector_code": "VARCHAR",
            "label": "VARCHAR"},
        "ceads_intermediate": {
            "year": "INTEGER", "position": "INTEGER", "city_id": "VARCHAR",
            "sector_code": "VARCHAR", "source_file": "VARCHAR", "source_row": "INTEGER",
            "z": "DOUBLE[]"},
        "ceads_final_use": {
            "year": "INTEGER", "city_id": "VARCHAR", "sector_code": "VARCHAR",
            "consumer_city_id": "VARCHAR", "category": "VARCHAR", "value": "DOUBLE"},
        "ceads_row_totals": {
            "year": "INTEGER", "city_id": "VARCHAR", "sector_code": "VARCHAR", "ex": "DOUBLE",
            "tfu": "DOUBLE", "err": "DOUBLE", "go": "DOUBLE", "source_file": "VARCHAR",
            "source_row": "INTEGER"},
        "ceads_footer": {
            "year": "INTEGER", "item": "VARCHAR", "city_id": "VARCHAR",
            "sector_code": "VARCHAR", "value": "DOUBLE", "source_file": "VARCHAR",
            "source_row": "INTEGER"}},
    # Baidu search index: one row per directed city pair listed in a year's file.
    "baidu_index": {"baidu_index": {
        "year": "INTEGER", "origin_city_id": "VARCHAR", "target_city_id": "VARCHAR",
        "daily_index": "DOUBLE", "source_file": "VARCHAR", "source_row": "BIGINT"}},
    # High-speed rail: line stages, the stations of each stage in order, stations.
    "hsr": {
        "hsr_line_stage": {
            "line_name": "VARCHAR", "stage": "INTEGER", "open_date": "DATE",
            "n_stations": "INTEGER", "source_file": "VARCHAR", "source_row": "BIGINT"},
        "hsr_line_station": {
            "line_name": "VARCHAR", "stage": "INTEGER", "seq": "INTEGER", "station": "VARCHAR",
            "city_id": "VARCHAR", "source_file": "VARCHAR", "source_row": "BIGINT"},
        "hsr_station": {
            "station": "VARCHAR", "city_id": "VARCHAR", "admin_code": "VARCHAR",
            "source_file": "VARCHAR", "source_row": "BIGINT"}},
    # Policy texts: one row per indexed document with its text.
    "policy_texts": {"policy_document": {
        "doc_id": "VARCHAR", "city_id": "VARCHAR", "publish_date": "DATE", "title": "VARCHAR",
        "file_name": "VARCHAR", "text": "VARCHAR", "n_chars": "BIGINT",
        "source_file": "VARCHAR", "source_row": "BIGINT"}},
    # Firm records: one row per firm and year.
    "asif": {"asif_firm_year": {
        "year": "INTEGER", "firm_id": "VARCHAR", "county_id": "VARCHAR", "cic4": "VARCHAR",
        "output_k_yuan": "DOUBLE", "employment": "DOUBLE", "open_year": "INTEGER",
        "registration_type": "VARCHAR", "source_file": "VARCHAR", "source_row": "BIGINT"}},
}

# Every raw table, in the order above: the list dbt's sources.yml declares (a test keeps them
# equal) and the warehouse's raw schema holds.
RAW_TABLES: dict[str, dict[str, str]] = {
    table: columns for tables in RAW_SCHEMA.values() for table, columns in tables.items()}


def columns(table: str) -> list[str]:
    """The columns of a raw table, in order."""
    return list(RAW_TABLES[table])


def source_tables(source: str) -> tuple[str, ...]:
    """The raw tables of a source (a key of ``models_py.ingest.SOURCES``), in order."""
    return tuple(RAW_SCHEMA[source])

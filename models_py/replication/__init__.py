"""Replication packages: everything a journal's data editor needs to get every number of a
study without the project's machines.

A study's package (``data/replication/<study>/`` and ``<study>.zip`` beside it, built by
:func:`models_py.replication.build.build`) holds::

    README.md          the data editors' template sections (``readme``)
    SHA256SUMS         the checksum of every other file, for ``sha256sum -c``
    reproduce.py       re-estimates every exhibit from this folder and compares (``reproduce``)
    data/              the relations the study's tables read, as <schema>.<relation>.parquet
    results/           the study's results tables, as <results table>.parquet
    outputs/           the published tables (md, html, tex) and figures (png, svg)
    code/              the study file, requirements.lock, the estimation code reproduce.py
                       imports (code/models_py/), the seeds it reads (code/dbt/seeds/) and the
                       lineage the study file's checks ask for (lineage.json, read by
                       ``packaged_lineage``, the packaged models_py/lineage.py)
"""

"""Input-output tables: the table model and reading it back from the warehouse (``table``),
the Leontief engine (``leontief``), and the industrial-transfer run over every table year
(``pipeline``). Reading the raw files is ingestion's (:mod:`models_py.ingest.ceads`)."""

{# An integrity test: every row satisfies a SQL condition (rows where it is false fail; nulls count
   as satisfied), for conditions the models guarantee (consistent flags, panel years). Ranges and
   shares of measured values are plausibility tests (test_plausible.sql) instead.
   Usable on a model or, with the same meaning, under one of its columns. #}
{% test rows_satisfy(model, condition, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ condition }}), true)
{% endtest %}

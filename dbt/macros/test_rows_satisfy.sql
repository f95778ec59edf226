{# Every row satisfies a SQL condition (rows where it is false fail; nulls count as satisfied).
   Usable on a model or, with the same meaning, under one of its columns. #}
{% test rows_satisfy(model, condition, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ condition }}), true)
{% endtest %}

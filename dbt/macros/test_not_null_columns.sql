{# Not null, declared once per model for all its not-null columns, as a model-level test:
       data_tests:
         - not_null_columns:
             name: not_null_<model>
             arguments: {columns: [city_id, year, ...]}
   rather than a not_null test under each column (dbt runs every test as a node of its own,
   and a node's overhead far exceeds the query). Each failing row is a row of the model with
   a null in one of the columns, preceded by null_column, the name of that column; a row with
   nulls in two of the columns fails twice. Columns whose nulls should only warn get a test of
   their own, not_null_<model>_<column>, with config: {severity: warn}. #}
{% test not_null_columns(model, columns) %}
with failing as materialized (
    select *
    from {{ model }}
    where {{ columns | join(' is null or ') }} is null
)
{% for column in columns %}
select '{{ column }}' as null_column, * from failing where {{ column }} is null
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% endtest %}

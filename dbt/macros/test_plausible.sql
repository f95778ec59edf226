{# A plausibility test: every row satisfies a SQL condition on measured values (a range, a share,
   a fallback not taken); nulls count as satisfied. Unlike the integrity tests (keys, uniqueness,
   relationships, balanced panels, invariants the models guarantee), a failing plausibility test
   warns and does not stop the build: real sources have odd values (EPS sector employment and
   yearbook urban employment have different scopes, so a share above 1 happens). Like every test
   it keeps its failing rows as a view in the test_failures schema (dbt_project.yml), where the
   Dagster run reads them to name the rows in its log and in the check's metadata. #}
{% test plausible(model, condition, column_name=none) %}
{{ config(severity='warn', tags=['plausibility']) }}
select *
from {{ model }}
where not coalesce(({{ condition }}), true)
{% endtest %}

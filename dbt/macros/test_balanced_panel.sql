{# Every unit appears in every period exactly once: the model has (units x periods) rows and no
   (unit, period) twice. Fails with one row per missing or repeated (unit, period). #}
{% test balanced_panel(model, unit, period) %}
with units as (
    select distinct {{ unit }} as unit from {{ model }}
),

periods as (
    select distinct {{ period }} as period from {{ model }}
),

counts as (
    select {{ unit }} as unit, {{ period }} as period, count(*) as n
    from {{ model }}
    group by {{ unit }}, {{ period }}
)

select units.unit, periods.period, coalesce(counts.n, 0) as n
from units
cross join periods
left join counts on counts.unit = units.unit and counts.period = periods.period
where coalesce(counts.n, 0) <> 1
{% endtest %}

{# The model holds every ordered pair (i, j), i <> j, of its cities in every one of its periods:
   n (n - 1) rows per period for its n cities, in each period, and no pair of a city with itself. #}
{% test complete_ordered_pairs(model, city_i, city_j, period) %}
with cities as (
    select {{ city_i }} as city_id from {{ model }}
    union
    select {{ city_j }} from {{ model }}
),

periods as (
    select distinct {{ period }} as period from {{ model }}
),

expected as (
    select i.city_id as city_i, j.city_id as city_j, periods.period
    from cities as i
    inner join cities as j on i.city_id <> j.city_id
    cross join periods
),

actual as (
    select distinct {{ city_i }} as city_i, {{ city_j }} as city_j, {{ period }} as period
    from {{ model }}
)

select 'missing' as problem, expected.*
from expected
left join actual using (city_i, city_j, period)
where actual.city_i is null
union all
select 'self pair' as problem, actual.*
from actual
where actual.city_i = actual.city_j
{% endtest %}

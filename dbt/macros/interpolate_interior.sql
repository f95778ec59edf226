{# Linear interpolation of interior gaps of a series.

   `relation` holds one row per series member (`partition_by` columns) and `order_by` step, with
   `value` null where the source had no value. A null value with an observed value both before
   and after it in its series becomes the straight-line value between those two neighbours, and
   is_interpolated is true there. Leading and trailing gaps stay null (no extrapolation), and so
   does a series with no observed value at all. Returns every column of `relation` (value
   replaced) plus is_interpolated. #}
{% macro interpolate_interior(relation, partition_by, order_by='year', value='value') -%}
{%- set series = partition_by | join(', ') -%}
select
    * exclude (_prev_at, _prev_value, _next_at, _next_value)
    replace (
        coalesce(
            {{ value }},
            _prev_value + (_next_value - _prev_value)
                * ({{ order_by }} - _prev_at) / (_next_at - _prev_at)
        ) as {{ value }}
    ),
    ({{ value }} is null and _prev_at is not null and _next_at is not null) as is_interpolated
from (
    select
        *,
        last_value(case when {{ value }} is not null then {{ order_by }} end ignore nulls)
            over before_step as _prev_at,
        last_value({{ value }} ignore nulls) over before_step as _prev_value,
        first_value(case when {{ value }} is not null then {{ order_by }} end ignore nulls)
            over after_step as _next_at,
        first_value({{ value }} ignore nulls) over after_step as _next_value
    from {{ relation }}
    window
        before_step as (partition by {{ series }} order by {{ order_by }}
                        rows between unbounded preceding and 1 preceding),
        after_step as (partition by {{ series }} order by {{ order_by }}
                       rows between 1 following and unbounded following)
)
{%- endmacro %}

-- Every canonical city variable of the panel (the indicators of seed ref_city_panel_indicator)
-- per yearbook city and year (long), with interior gaps of each city's series filled by linear
-- interpolation and flagged. The grid covers the years a city exists under its id (ref_city
-- valid_from..valid_to) within the panel years, so a merged city (莱芜 until 2018) or a new one
-- (儋州 from 2015) has no rows outside its life.

-- depends_on: {{ ref('ref_city_panel_indicator') }}
-- depends_on: {{ ref('ref_variable_catalog') }}
{{ config(materialized='table') }}
{%- set yearbook_variables = city_panel_variables('city_yearbook') %}
{%- set eps_variables = city_panel_variables('eps') %}

with yearbook_cities as (
    select distinct city_id
    from {{ ref('stg_city_yearbook') }}
),

panel_years as (
    select cast(year as integer) as year
    from range({{ var('city_panel_first_year') }}, {{ var('city_panel_last_year') }} + 1) as years (year)
),

city_years as (
    select yearbook_cities.city_id, panel_years.year
    from yearbook_cities
    join {{ ref('ref_city') }} as roster using (city_id)
    join panel_years
        on panel_years.year between roster.valid_from and roster.valid_to
),

variables as (
    select * from (values
        {%- for v in yearbook_variables %}
        ('{{ v }}', 'city_yearbook'),
        {%- endfor %}
        {%- for v in eps_variables %}
        ('{{ v }}', 'eps'){{ "," if not loop.last }}
        {%- endfor %}
    ) as definitions (variable, source)
),

yearbook_values as (
    select city_id, year, variable, value
    from {{ ref('stg_city_yearbook') }}
    where scope = '全市'
),

eps_values as (
    select region_id as city_id, year, variable, value
    from {{ ref('stg_eps') }}
    where region_level = 'city'
),

observed as (
    select 'city_yearbook' as source, * from yearbook_values
    union all
    select 'eps' as source, * from eps_values
),

grid as (
    select
        city_years.city_id,
        city_years.year,
        variables.variable,
        variables.source,
        observed.value
    from city_years
    cross join variables
    left join observed
        on observed.city_id = city_years.city_id
        and observed.year = city_years.year
        and observed.variable = variables.variable
        and observed.source = variables.source
),

interpolated as (
    {{ interpolate_interior('grid', ['city_id', 'variable']) }}
)

select city_id, year, variable, source, value, is_interpolated
from interpolated

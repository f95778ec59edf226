-- The S001 pooled panel: the study's sample cities (ref_city.in_s001) present in the yearbook,
-- every year 2012-2023, with the panel's variables (null where the city has no value).
with sample_cities as (
    select distinct panel.city_id
    from {{ ref('int_city_year_panel') }} as panel
    join {{ ref('ref_city') }} as roster using (city_id)
    where roster.in_s001 = 1
),

study_years as (
    select cast(year as integer) as year
    from range({{ var('s001_first_year') }}, {{ var('s001_last_year') }} + 1) as years (year)
),

spine as (
    select sample_cities.city_id, study_years.year
    from sample_cities
    cross join study_years
)

select
    spine.city_id,
    spine.year,
    panel.* exclude (city_id, year)
from spine
left join {{ ref('int_city_year_panel') }} as panel using (city_id, year)

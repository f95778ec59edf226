-- One row per province of the roster: name, region, municipality flag, city counts and
-- whether it enters the S000 province panel.
with roster as (
    select * from {{ ref('ref_city') }}
),

provinces as (
    select
        province_id,
        any_value(province_name) as province_name,
        mode(region) as region,
        bool_or(level = 'municipality') as is_municipality,
        count(*) filter (where valid_to >= 9999) as n_cities,
        count(*) filter (where valid_to >= 9999 and level in ('municipality', 'prefecture_city'))
            as n_yearbook_level_cities
    from roster
    group by province_id
),

s000 as (
    select province_id, count(*) as n_s000_years
    from {{ ref('int_province_year_aggregates') }}
    where in_s000_sample
    group by province_id
)

select
    provinces.*,
    s000.province_id is not null as in_s000,
    coalesce(s000.n_s000_years, 0) as n_s000_years
from provinces
left join s000 using (province_id)

-- One row per city of the roster (ref_city): names over time, place, level, study samples and
-- size class.
with roster as (
    select * from {{ ref('ref_city') }}
),

name_history as (
    select * from {{ ref('ref_city_name_history') }}
),

-- The roster name is the name of the period the history does not cover: after the last
-- historical name, or, when the history already holds the name in use (to 9999), before it.
roster_name_period as (
    select
        roster.city_id,
        roster.city_name as name,
        case when max(name_history.valid_to) filter (where name_history.valid_to >= 9999) is not null
             then roster.valid_from
             else coalesce(max(name_history.valid_to) + 1, roster.valid_from)
        end as from_year,
        coalesce(
            min(name_history.valid_from) filter (where name_history.valid_to >= 9999) - 1,
            roster.valid_to
        ) as to_year
    from roster
    left join name_history using (city_id)
    where not exists (
        select 1 from name_history as same
        where same.city_id = roster.city_id and same.historical_name = roster.city_name
    )
    group by roster.city_id, roster.city_name, roster.valid_from, roster.valid_to
),

names as (
    select city_id, historical_name as name, valid_from as from_year, valid_to as to_year
    from name_history
    union all
    select city_id, name, from_year, to_year
    from roster_name_period
),

names_by_city as (
    select
        city_id,
        list({'name': name, 'from_year': from_year, 'to_year': to_year} order by from_year)
            as name_history,
        arg_max(name, to_year) as current_name
    from names
    group by city_id
),

-- Resident population, or registered population where the yearbook lacks it (the panel's
-- `population`, flagged by `population_source`).
population as (
    select
        city_id,
        {{ ordered('avg', 'population') }} filter (where year between 2012 and 2023) as population_mean_2012_2023,
        max(population) filter (where year = 2012) as population_2012,
        count(*) filter (where year between 2012 and 2023
                         and population_source = 'registered') as registered_population_years
    from {{ ref('int_city_year_panel') }}
    group by city_id
)

select
    roster.city_id,
    names_by_city.current_name as city_name,
    roster.short_name,
    names_by_city.name_history,
    roster.province_id,
    roster.province_name,
    roster.region,
    roster.level,
    roster.longitude,
    roster.latitude,
    roster.valid_from,
    roster.valid_to,
    roster.in_s001 = 1 as in_s001,
    roster.in_ceads = 1 as in_ceads,
    population.city_id is not null as in_yearbook,
    population.population_mean_2012_2023,
    population.population_2012,
    population.registered_population_years,
    -- size classes of the State Council's 2014 city-size standard, on mean population
    -- 2012-2023 (万人)
    case
        when population.population_mean_2012_2023 >= 1000 then 'megacity'
        when population.population_mean_2012_2023 >= 500 then 'super_large'
        when population.population_mean_2012_2023 >= 100 then 'large'
        when population.population_mean_2012_2023 >= 50 then 'medium'
        when population.population_mean_2012_2023 < 50 then 'small'
    end as size_class,
    population.population_mean_2012_2023 >= 500 as is_megacity_or_super_large,
    -- the embedded default's large city: population of at least 500万 in 2012
    population.population_2012 >= 500 as large_in_2012
from roster
join names_by_city using (city_id)
left join population using (city_id)

-- One row per city of the roster (ref_city): names over time, place, level, study samples and
-- size class.
with roster as (
    select * from {{ ref('ref_city') }}
),

names_by_city as (
    select * from {{ ref('int_city_names') }}
),

-- Resident population, or registered population where the yearbook lacks it (the panel's
-- `population`, flagged by `population_source`).
population as (
    select
        city_id,
        avg(population) filter (where year between 2012 and 2023) as population_mean_2012_2023,
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

-- One row per city of the roster (ref_city): names over time, place, level, study samples and
-- size class.
with roster as (
    select * from {{ ref('ref_city') }}
),

names_by_city as (
    select * from {{ ref('int_city_names') }}
),

-- Resident population, or registered population where the yearbook lacks it (the panel's
-- `population`, flagged by `population_source`), over the S001 years.
population as (
    select
        city_id,
        avg(population) filter (where year between {{ var('s001_first_year') }}
                                and {{ var('s001_last_year') }}) as population_mean,
        max(population) filter (where year = {{ var('s001_first_year') }}) as population_first_year,
        count(*) filter (where year between {{ var('s001_first_year') }} and {{ var('s001_last_year') }}
                         and population_source = 'registered') as registered_population_years
    from {{ ref('int_city_year_panel') }}
    group by city_id
),

-- The size classes of ref_city_size_class, each from its lower bound to the next class's.
size_classes as (
    select
        size_class,
        min_population,
        lead(min_population) over (order by min_population) as next_min_population,
        large = 1 as large
    from {{ ref('ref_city_size_class') }}
),

large_city_min_population as (
    select min(min_population) as min_population from size_classes where large
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
    population.population_mean,
    population.population_first_year,
    population.registered_population_years,
    -- the size class of the mean population (万人)
    size_classes.size_class,
    size_classes.large as is_megacity_or_super_large,
    -- the embedded default's large city: a large size class's population in the first year
    population.population_first_year >= large_city_min_population.min_population
        as large_in_first_year
from roster
join names_by_city using (city_id)
left join population using (city_id)
left join size_classes
    on population.population_mean >= size_classes.min_population
    and (size_classes.next_min_population is null
         or population.population_mean < size_classes.next_min_population)
cross join large_city_min_population

-- Province-year aggregates of the yearbook cities (ratios of sums over the cities reporting
-- both parts of a ratio), with the EPS province series, and whether the province-year is in the
-- S000 sample: a province with at least two yearbook cities with GDP and population that year,
-- other than the four municipalities, in 2013-2022. Per-capita ratios divide by the cities'
-- `population` (resident, else registered; int_city_year_panel), and
-- n_cities_registered_population counts the cities that fall back to registered population.

{{ config(materialized='table') }}

with panel as (
    select * from {{ ref('int_city_year_panel') }}
),

municipality_provinces as (
    select distinct province_id
    from {{ ref('ref_city') }}
    where level = 'municipality'
),

city_sums as (
    select
        province_id,
        year,
        count(*) as n_yearbook_cities,
        count(*) filter (where population_source = 'registered') as n_cities_registered_population,
        sum(gdp) filter (where gdp > 0 and population > 0) as gdp,
        sum(population) filter (where gdp > 0 and population > 0) as population,
        {{ ratio_of_sums('gdp', 'population') }} as gdp_per_capita,
        100 * {{ ratio_of_sums('broadband_subscribers', 'population') }} as broadband_per_100,
        100 * {{ ratio_of_sums('mobile_subscribers', 'population') }} as mobile_per_100,
        {{ ratio_of_sums('telecom_volume', 'population') }} as telecom_per_capita,
        {{ ratio_of_sums('patents_granted', 'population') }} as patents_per_10k,
        {{ ratio_of_sums('patent_applications', 'population') }} as patent_applications_per_10k,
        {{ ratio_of_sums('share_tertiary * gdp', 'share_secondary * gdp') }} as tertiary_to_secondary,
        {{ ratio_of_sums('fiscal_expenditure', 'gdp') }} as gov_expenditure_to_gdp,
        {{ ratio_of_sums('exports + imports', 'gdp') }} as trade_dependence,
        {{ ratio_of_sums('fdi', 'gdp') }} as fdi_to_gdp,
        {{ ratio_of_sums('loans', 'gdp') }} as loans_to_gdp,
        {{ ratio_of_sums('college_students', 'population') }} as students_per_10k,
        {{ ratio_of_sums('population', 'land_area') }} as pop_density,
        avg(telephones_per_100_1984) as telephones_per_100_1984
    from panel
    group by province_id, year
),

eps_province as (
    select
        region_id as province_id,
        year,
        max(value) filter (where variable = 'urbanization_rate') as urbanization_rate,
        max(value) filter (where variable = 'urban_disposable_income') as urban_disposable_income,
        max(value) filter (where variable = 'rural_disposable_income') as rural_disposable_income
    from {{ ref('stg_eps') }}
    where region_level = 'province'
    group by region_id, year
),

balance as (
    select * from {{ ref('int_province_year_balance') }}
)

select
    city_sums.province_id,
    city_sums.year,
    city_sums.n_yearbook_cities,
    coalesce(balance.n_cities, 0) as n_cities,
    municipality_provinces.province_id is not null as is_municipality,
    municipality_provinces.province_id is null
        and coalesce(balance.n_cities, 0) >= 2
        and city_sums.year between {{ var('s000_first_year') }} and {{ var('s000_last_year') }}
        as in_s000_sample,
    balance.theil,
    balance.cv,
    balance.cv_unweighted,
    city_sums.* exclude (province_id, year, n_yearbook_cities),
    eps_province.urbanization_rate,
    eps_province.urban_disposable_income,
    eps_province.rural_disposable_income
from city_sums
left join balance using (province_id, year)
left join municipality_provinces using (province_id)
left join eps_province using (province_id, year)

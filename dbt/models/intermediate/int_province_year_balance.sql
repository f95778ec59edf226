-- Inequality of GDP per capita across each province's yearbook cities, per province and year,
-- over the cities with both GDP and population that year (resident population, else registered:
-- `population` of int_city_year_panel).
--   theil: population-weighted Theil index T = sum_i s_i ln(s_i / w_i), s_i the city's share of
--          the province's GDP and w_i its share of the province's population (the index the
--          embedded default plants, digital_infrastructure.theil);
--   cv: population-weighted coefficient of variation sqrt(sum_i w_i (y_i - mu)^2) / mu, with
--       mu = sum_i w_i y_i the province's GDP per capita, so it weighs cities as the Theil does;
--   cv_unweighted: the plain coefficient of variation across cities, stddev_pop(y) / avg(y).
with cities as (
    select
        panel.province_id,
        panel.city_id,
        panel.year,
        panel.gdp,
        panel.population,
        panel.gdp / panel.population as gdp_per_capita
    from {{ ref('int_city_year_panel') }} as panel
    where panel.gdp > 0 and panel.population > 0
),

shares as (
    select
        *,
        gdp / {{ ordered('sum', 'gdp') }} over province_year as gdp_share,
        population / {{ ordered('sum', 'population') }} over province_year as pop_share,
        {{ ordered('sum', 'gdp') }} over province_year
            / {{ ordered('sum', 'population') }} over province_year as province_gdp_per_capita
    from cities
    window province_year as (partition by province_id, year)
)

select
    province_id,
    year,
    count(*) as n_cities,
    {{ ordered('sum', 'gdp_share * ln(gdp_share / pop_share)') }} as theil,
    sqrt({{ ordered('sum', 'pop_share * power(gdp_per_capita - province_gdp_per_capita, 2)') }})
        / any_value(province_gdp_per_capita) as cv,
    {{ ordered('stddev_pop', 'gdp_per_capita') }} / {{ ordered('avg', 'gdp_per_capita') }}
        as cv_unweighted
from shares
group by province_id, year

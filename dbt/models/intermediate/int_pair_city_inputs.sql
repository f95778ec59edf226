-- Whole-city canonical variables per city-year that the pair marts use, taken from the city-year
-- panel (one row per yearbook city and year it exists; interior gaps interpolated there), with
-- flags for the values of the GDP identity that were interpolated rather than reported.
select
    city_id,
    year,
    gdp,
    gdp_per_capita,
    pop_resident,
    urbanization_rate,
    fdi,
    imports,
    exports,
    college_students,
    fiscal_expenditure,
    employment_urban_units,
    industrial_fixed_assets,
    industrial_current_assets,
    loans,
    broadband_subscribers,
    patent_applications,
    coalesce(list_contains(interpolated, 'gdp'), false) as gdp_interpolated,
    coalesce(list_contains(interpolated, 'gdp_per_capita'), false) as gdp_per_capita_interpolated,
    coalesce(list_contains(interpolated, 'pop_resident'), false) as pop_resident_interpolated
from {{ ref('int_city_year_panel') }}

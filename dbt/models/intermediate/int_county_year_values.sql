-- County yearbook variables per county and year (long), 1998-2007, with interior gaps of each
-- county's series filled by linear interpolation and flagged (as for the city panel). The
-- variables are those of the indicators of ref_county_panel_indicator (ref_variable_catalog
-- maps each to its variable).
with yearbook_counties as (
    select distinct county_id
    from {{ ref('stg_county_yearbook') }}
),

panel_years as (
    select cast(year as integer) as year
    from range({{ var('county_panel_first_year') }}, {{ var('county_panel_last_year') }} + 1) as years (year)
),

variables as (
    select distinct catalog.variable
    from {{ ref('ref_county_panel_indicator') }} as panel
    join {{ ref('ref_variable_catalog') }} as catalog using (indicator)
),

observed as (
    select county_id, year, variable, value
    from {{ ref('stg_county_yearbook') }}
),

grid as (
    select
        yearbook_counties.county_id,
        panel_years.year,
        variables.variable,
        observed.value
    from yearbook_counties
    cross join panel_years
    cross join variables
    left join observed
        on observed.county_id = yearbook_counties.county_id
        and observed.year = panel_years.year
        and observed.variable = variables.variable
),

interpolated as (
    {{ interpolate_interior('grid', ['county_id', 'variable']) }}
)

select county_id, year, variable, value, is_interpolated
from interpolated

-- City-year measures the pair marts are built from, in the units of seed 003's descriptive
-- statistics (GDP per capita in 元 and, as ed, in 万元 per person; ratios as shares).
with inputs as (
    select * from {{ ref('int_pair_city_inputs') }}
),

reported as (
    select
        inputs.*,
        case when not gdp_interpolated then gdp end as gdp_reported,
        case when not gdp_per_capita_interpolated then gdp_per_capita end
            as gdp_per_capita_reported,
        case when not pop_resident_interpolated then pop_resident end as pop_resident_reported
    from inputs
),

-- GDP (万元) = GDP per capita (元) x resident population (万人): each of the three is the reported
-- value, else the identity from the other two reported values, else the (interpolated) input.
levels as (
    select
        * replace (
            coalesce(
                gdp_reported,
                gdp_per_capita_reported * pop_resident_reported,
                gdp,
                gdp_per_capita * pop_resident
            ) as gdp,
            coalesce(
                pop_resident_reported,
                gdp_reported / nullif(gdp_per_capita_reported, 0),
                pop_resident,
                gdp / nullif(gdp_per_capita, 0)
            ) as pop_resident
        ),
        coalesce(
            gdp_per_capita_reported,
            gdp_reported / nullif(pop_resident_reported, 0),
            gdp_per_capita,
            gdp / nullif(pop_resident, 0)
        ) as gdppc
    from reported
),

measures as (
    select
        city_id,
        year,
        gdp,
        pop_resident,
        gdppc,
        gdppc / 10000 as ed,
        urbanization_rate as u,
        fdi / nullif(gdp, 0) as fi,
        college_students / nullif(pop_resident * 10000, 0) as hc,
        (imports + exports) / nullif(gdp, 0) as ft,
        fiscal_expenditure / nullif(gdp, 0) as ge,
        employment_urban_units,
        employment_urban_units / nullif(pop_resident, 0) as labor_ratio,
        industrial_fixed_assets,
        industrial_current_assets,
        -- 万元 / 万人 = 元 per employed worker
        industrial_fixed_assets / nullif(employment_urban_units, 0) as fixed_assets_per_worker,
        industrial_current_assets / nullif(employment_urban_units, 0) as current_assets_per_worker,
        gdp / nullif(employment_urban_units, 0) as output_per_worker,
        patent_applications,
        loans / nullif(gdp, 0) as loans_to_gdp,
        broadband_subscribers / nullif(pop_resident, 0) as broadband_per_capita
    from levels
)

select
    measures.*,
    -- log growth of GDP per capita over the previous calendar year (null if that year is absent)
    case when lag(year) over city_years = year - 1
         then {{ ln_positive('gdppc') }} - {{ ln_positive('lag(gdppc) over city_years') }}
    end as gdppc_growth
from measures
window city_years as (partition by city_id order by year)

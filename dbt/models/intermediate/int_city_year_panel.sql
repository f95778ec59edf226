-- Wide city-year panel of every yearbook city: canonical whole-city (全市) variables and the EPS
-- city series (the indicators of seed ref_city_panel_indicator), the 1984 telephone density and
-- the ratios the studies build on. Interior gaps are interpolated (int_city_year_values);
-- `interpolated` names the variables filled in the row, so a ratio is built on an interpolated
-- value when one of its inputs is listed there.
--
-- Per-capita ratios divide by `population`: resident population (年末常住人口) where the city-year
-- has it, else registered population (年末户籍人口), which older yearbook editions carry alone.
-- `population_source` says which one a row uses ('resident' or 'registered').

-- depends_on: {{ ref('ref_city_panel_indicator') }}
-- depends_on: {{ ref('ref_variable_catalog') }}
{{ config(materialized='table') }}
{%- set variables = city_panel_variables() %}

with city_values as (
    select * from {{ ref('int_city_year_values') }}
),

wide as (
    select
        city_id,
        year,
        {%- for v in variables %}
        max(value) filter (where variable = '{{ v }}') as {{ v }},
        {%- endfor %}
        coalesce(
            list(variable order by variable) filter (where is_interpolated),
            []::varchar[]
        ) as interpolated
    from city_values
    group by city_id, year
),

with_population as (
    select
        *,
        coalesce(pop_resident, pop_registered) as population,
        case
            when pop_resident is not null then 'resident'
            when pop_registered is not null then 'registered'
        end as population_source
    from wide
),

telephones_1984 as (
    select region_id as city_id, max(value) as telephones_per_100_1984
    from {{ ref('stg_eps') }}
    where region_level = 'city' and variable = 'telephones_per_100_1984'
    group by region_id
),

ratios as (
    select
        panel.city_id,
        panel.year,
        roster.province_id,
        {%- for v in variables %}
        panel.{{ v }},
        {%- endfor %}
        panel.population,
        panel.population_source,
        telephones_1984.telephones_per_100_1984,
        -- money in 万元, people in 万人: 万元 / 万人 = 元 per person
        (exports + imports) / nullif(gdp, 0) as trade_dependence,
        fdi / nullif(gdp, 0) as fdi_to_gdp,
        fiscal_expenditure / nullif(gdp, 0) as gov_expenditure_to_gdp,
        fiscal_revenue / nullif(fiscal_expenditure, 0) as fiscal_self_sufficiency,
        loans / nullif(gdp, 0) as loans_to_gdp,
        unemployment_insured / nullif(population * 10000, 0) as ui_coverage,
        household_savings / nullif(population, 0) as savings_per_capita,
        retail_sales / nullif(population, 0) as retail_per_capita,
        hospital_beds / nullif(population, 0) as beds_per_10k,
        (education_expenditure + science_expenditure) / nullif(fiscal_expenditure, 0) as edu_sci_share,
        share_tertiary / nullif(share_secondary, 0) as tertiary_to_secondary,
        college_students / nullif(population, 0) as students_per_10k,
        patents_granted / nullif(population, 0) as patents_per_10k,
        patent_applications / nullif(population, 0) as patent_applications_per_10k,
        gdp / nullif(land_area, 0) as economic_density,
        broadband_subscribers / nullif(population, 0) * 100 as broadband_per_100,
        mobile_subscribers / nullif(population, 0) * 100 as mobile_per_100,
        telecom_volume / nullif(population, 0) as telecom_per_capita,
        employment_urban_units / nullif(population, 0) as employment_ratio,
        industrial_fixed_assets / nullif(employment_urban_units, 0) as fixed_assets_per_worker,
        industrial_current_assets / nullif(employment_urban_units, 0) as current_assets_per_worker,
        (employment_it + employment_research) / nullif(employment_urban_units, 0) as talent_share,
        {{ ln_positive('avg_wage') }} as log_avg_wage,
        {{ ln_positive('new_digital_firms') }} as log_new_digital_firms,
        panel.interpolated
    from with_population as panel
    join {{ ref('ref_city') }} as roster using (city_id)
    left join telephones_1984 using (city_id)
)

select
    * exclude (interpolated),
    -- nominal GDP growth over the previous calendar year (null when that year is absent)
    case when lag(year) over city_years = year - 1
         then gdp / nullif(lag(gdp) over city_years, 0) - 1
    end as gdp_growth,
    interpolated,
    len(interpolated) as n_interpolated
from ratios
window city_years as (partition by city_id order by year)

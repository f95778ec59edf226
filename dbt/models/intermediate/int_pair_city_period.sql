-- City measures of the S003 cities as means over each period's years (seed 003: "annual average
-- processing within the observation period"). Ratios are means of the yearly ratios; the
-- mechanism variables are logs of the period means. Years with a missing value are skipped.
with city_years as (
    select city_year.*
    from {{ ref('int_pair_city_year') }} as city_year
    inner join {{ ref('int_pair_s003_city') }} using (city_id)
),

period_means as (
    select
        city_years.city_id,
        s003_period.period,
        s003_period.period_id,
        {{ ordered('avg', 'city_years.gdppc') }} as gdppc,
        {{ ordered('avg', 'city_years.pop_resident') }} as pop,
        {{ ordered('avg', 'city_years.ed') }} as ed,
        {{ ordered('avg', 'city_years.u') }} as u,
        {{ ordered('avg', 'city_years.fi') }} as fi,
        {{ ordered('avg', 'city_years.hc') }} as hc,
        {{ ordered('avg', 'city_years.ft') }} as ft,
        {{ ordered('avg', 'city_years.ge') }} as ge,
        {{ ordered('avg', 'city_years.labor_ratio') }} as labor_ratio,
        {{ ordered('avg', 'city_years.industrial_fixed_assets') }} as fixed_assets,
        {{ ordered('avg', 'city_years.industrial_current_assets') }} as current_assets,
        {{ ordered('avg', 'city_years.fixed_assets_per_worker') }} as fixed_assets_per_worker,
        {{ ordered('avg', 'city_years.current_assets_per_worker') }} as current_assets_per_worker,
        {{ ordered('avg', 'city_years.patent_applications') }} as patent_applications
    from city_years
    inner join {{ s003_periods() }}
        on city_years.year between s003_period.first_year and s003_period.last_year
    group by city_years.city_id, s003_period.period, s003_period.period_id
)

select
    city_id,
    period,
    period_id,
    gdppc,
    pop,
    ed,
    u,
    fi,
    hc,
    ft,
    ge,
    labor_ratio as factor_labor,
    {{ ln_positive('fixed_assets') }} as factor_fcapital,
    {{ ln_positive('current_assets') }} as factor_ccapital,
    {{ ln_positive('fixed_assets_per_worker') }} as factor_flc,
    {{ ln_positive('current_assets_per_worker') }} as factor_clc,
    {{ ln_positive('patent_applications') }} as factor_tech
from period_means

-- S001 city-year mart: the sample cities x 2012-2023 with every city variable of the panel,
-- the big data pilot treatment, controls, mechanisms, heterogeneity splits, the instrument and
-- the entropy-weighted resilience index.
with panel as (
    select * from {{ ref('int_city_year_s001') }}
),

cities as (
    select * from {{ ref('dim_city') }}
),

-- A city in several zones takes its earliest approval.
pilots as (
    select city_id, approval_date, first_treated_year
    from {{ ref('int_pilot_city') }}
    where programme = 'big_data'
),

-- The institutional indices before the first pilot zones (2016), so the splits do not move
-- with treatment: each city's 2012-2015 mean, high = above the median of the sample cities.
pre_policy_institutions as (
    select
        city_id,
        avg(ip_protection_index) as ip_protection_pre,
        avg(policy_capacity_index) as policy_capacity_pre
    from panel
    where year between 2012 and 2015
    group by city_id
),

institution_medians as (
    select
        median(ip_protection_pre) as ip_protection_median,
        median(policy_capacity_pre) as policy_capacity_median
    from pre_policy_institutions
),

national_internet_users as (
    select year + 1 as following_year, value as internet_users
    from {{ ref('stg_eps') }}
    where region_level = 'nation' and variable = 'internet_users'
),

resilience as (
    select * from {{ ref('int_entropy_resilience_index') }}
)

select
    panel.city_id,
    panel.year,
    cities.city_name,
    cities.short_name,
    panel.province_id,
    cities.province_name,
    cities.region,
    cities.level,
    panel.* exclude (city_id, year, province_id, interpolated, n_interpolated),

    -- treatment
    pilots.city_id is not null as treated,
    pilots.approval_date,
    pilots.first_treated_year,
    coalesce(panel.year >= pilots.first_treated_year, false) as did,
    panel.year - pilots.first_treated_year as rel_year,

    -- controls
    {{ ln_positive('panel.economic_density') }} as log_economic_density,
    panel.broadband_per_100 as infrastructure,
    panel.gov_expenditure_to_gdp as gov_intervention,

    -- heterogeneity
    cities.size_class,
    cities.is_megacity_or_super_large,
    cities.large_in_first_year,
    pre_policy_institutions.ip_protection_pre,
    pre_policy_institutions.ip_protection_pre > institution_medians.ip_protection_median
        as high_ip_protection,
    pre_policy_institutions.policy_capacity_pre,
    pre_policy_institutions.policy_capacity_pre > institution_medians.policy_capacity_median
        as high_policy_capacity,

    -- instrument: 1984 telephones per 100 people x national internet users of the year before
    previous_year_users.internet_users as internet_users_previous_year,
    panel.telephones_per_100_1984 * previous_year_users.internet_users as iv_telephones_x_internet,

    -- outcome
    resilience.resilience_index,
    resilience.resilience_index_resistance,
    resilience.resilience_index_adaptation,
    resilience.resilience_index_innovation,
    resilience.resilience_index_missing,

    panel.interpolated,
    panel.n_interpolated
from panel
join cities using (city_id)
left join pilots using (city_id)
left join pre_policy_institutions using (city_id)
cross join institution_medians
left join national_internet_users as previous_year_users
    on previous_year_users.following_year = panel.year
left join resilience using (city_id, year)

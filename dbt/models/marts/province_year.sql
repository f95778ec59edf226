-- S000 province-year mart, 2013-2022: provinces with at least two yearbook cities (not the
-- four municipalities). Intra-provincial balance (Theil and CV of city GDP per capita, and the
-- same oriented so that higher is more balanced), the entropy digital-infrastructure index with
-- its lags, mechanisms, urbanization heterogeneity, controls and an instrument.
with sample as (
    select * from {{ ref('int_province_year_aggregates') }}
    where in_s000_sample
),

digital_infrastructure as (
    select * from {{ ref('int_entropy_digital_infrastructure_index') }}
),

provinces as (
    select * from {{ ref('dim_province') }}
),

-- Urbanization at the start of the panel splits provinces into high and low (above the
-- median of the sample provinces), as a fixed characteristic.
urbanization_2013 as (
    select province_id, urbanization_rate as urbanization_rate_2013
    from sample
    where year = {{ var('s000_first_year') }}
),

urbanization_median as (
    select median(urbanization_rate_2013) as median_urbanization_2013
    from urbanization_2013
),

national_internet_users as (
    select year + 1 as following_year, value as internet_users
    from {{ ref('stg_eps') }}
    where region_level = 'nation' and variable = 'internet_users'
),

joined as (
    select
        sample.*,
        digital_infrastructure.di_index,
        digital_infrastructure.di_index_missing,
        urbanization_2013.urbanization_rate_2013,
        urbanization_2013.urbanization_rate_2013 > urbanization_median.median_urbanization_2013
            as high_urbanization,
        previous_year_users.internet_users as internet_users_previous_year
    from sample
    left join digital_infrastructure using (province_id, year)
    left join urbanization_2013 using (province_id)
    cross join urbanization_median
    left join national_internet_users as previous_year_users
        on previous_year_users.following_year = sample.year
)

select
    joined.province_id,
    provinces.province_name,
    provinces.region,
    joined.year,
    joined.n_cities,

    -- balance: the inequality indices and their negatives (higher = more balanced); the
    -- negative keeps the index's scale, so a coefficient on it is the fall in inequality
    joined.theil,
    joined.cv,
    joined.cv_unweighted,
    -joined.theil as balance_theil,
    -joined.cv as balance_cv,

    -- digital infrastructure
    joined.di_index,
    joined.di_index_missing,
    case when lag(joined.year, 1) over province_years = joined.year - 1
         then lag(joined.di_index, 1) over province_years end as di_index_lag1,
    case when lag(joined.year, 2) over province_years = joined.year - 2
         then lag(joined.di_index, 2) over province_years end as di_index_lag2,
    joined.broadband_per_100,
    joined.mobile_per_100,
    joined.telecom_per_capita,

    -- mechanisms
    joined.patents_per_10k,
    {{ ln_positive('joined.patents_per_10k') }} as log_patents_per_10k,
    joined.patent_applications_per_10k,
    joined.tertiary_to_secondary,

    -- heterogeneity
    joined.urbanization_rate,
    joined.urbanization_rate_2013,
    joined.high_urbanization,

    -- controls
    joined.gdp,
    joined.population,
    joined.n_cities_registered_population,
    joined.gdp_per_capita,
    {{ ln_positive('joined.gdp_per_capita') }} as log_gdp_per_capita,
    joined.gov_expenditure_to_gdp,
    joined.trade_dependence,
    joined.fdi_to_gdp,
    joined.loans_to_gdp,
    joined.students_per_10k,
    joined.pop_density,
    joined.urban_disposable_income / nullif(joined.rural_disposable_income, 0)
        as urban_rural_income_ratio,

    -- instrument: mean 1984 telephones per 100 people of the province's cities x national
    -- internet users of the year before
    joined.telephones_per_100_1984,
    joined.internet_users_previous_year,
    joined.telephones_per_100_1984 * joined.internet_users_previous_year
        as iv_telephones_x_internet
from joined
left join provinces using (province_id)
window province_years as (partition by joined.province_id order by joined.year)

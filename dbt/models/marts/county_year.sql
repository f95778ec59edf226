-- S004 county-year mart, 1998-2007: county yearbook variables (interior gaps interpolated),
-- growth and the urban-rural income gap, and the density-based cluster measures from the firm
-- records (int_county_year_clusters).
with county_values as (
    select * from {{ ref('int_county_year_values') }}
),

yearbook as (
    select
        county_id,
        year,
        max(value) filter (where variable = 'gdp') as gdp,
        max(value) filter (where variable = 'pop_registered') as pop_registered,
        max(value) filter (where variable = 'urban_disposable_income') as urban_income,
        max(value) filter (where variable = 'rural_net_income') as rural_income,
        coalesce(
            list(variable order by variable) filter (where is_interpolated),
            []::varchar[]
        ) as interpolated
    from county_values
    group by county_id, year
),

clusters as (
    select * from {{ ref('int_county_year_clusters') }}
),

county_years as (
    select county_id, year from yearbook
    union
    select county_id, year from clusters
    where year between {{ var('county_panel_first_year') }} and {{ var('county_panel_last_year') }}
),

counties as (
    select * from {{ ref('dim_county') }}
),

joined as (
    select
        county_years.county_id,
        county_years.year,
        yearbook.gdp,
        yearbook.pop_registered,
        yearbook.urban_income,
        yearbook.rural_income,
        coalesce(clusters.n_firms, 0) as n_firms,
        coalesce(clusters.cluster_index, 0) as cluster_index,
        clusters.cluster_index_industry,
        coalesce(clusters.n_cluster_industries, 0) as n_cluster_industries,
        coalesce(clusters.cluster, false) as cluster,
        coalesce(clusters.entrepreneurial_cluster, false) as entrepreneurial_cluster,
        coalesce(yearbook.interpolated, []::varchar[]) as interpolated
    from county_years
    left join yearbook using (county_id, year)
    left join clusters using (county_id, year)
)

select
    joined.county_id,
    joined.year,
    counties.county_name,
    counties.city_id,
    counties.province_id,
    counties.region,
    joined.gdp,
    joined.pop_registered,
    -- 万元 / 万人 = 元 per person
    joined.gdp / nullif(joined.pop_registered, 0) as gdp_per_capita,
    {{ ln_positive('joined.gdp') }} as log_gdp,
    -- annual log growth of GDP (null when the previous year is absent)
    case when lag(joined.year) over county_years = joined.year - 1
         then {{ ln_positive('joined.gdp') }} - {{ ln_positive('lag(joined.gdp) over county_years') }}
    end as gdp_growth,
    joined.urban_income,
    joined.rural_income,
    {{ ln_positive('joined.urban_income') }} as log_urban_income,
    {{ ln_positive('joined.rural_income') }} as log_rural_income,
    joined.urban_income / nullif(joined.rural_income, 0) as income_gap,
    {{ ln_positive('joined.urban_income / nullif(joined.rural_income, 0)') }} as log_income_gap,
    joined.n_firms,
    joined.cluster_index,
    ln(1 + joined.cluster_index) as log_cluster_index,
    joined.cluster_index_industry,
    joined.n_cluster_industries,
    joined.cluster,
    joined.entrepreneurial_cluster,
    joined.cluster and not joined.entrepreneurial_cluster as other_cluster,
    -- the first year the county's records show a cluster (null if they never do)
    min(joined.year) filter (where joined.cluster) over county as first_cluster_year,
    min(joined.year) filter (where joined.entrepreneurial_cluster) over county
        as first_entrepreneurial_cluster_year,
    coalesce(joined.year >= min(joined.year) filter (where joined.entrepreneurial_cluster)
        over county, false) as since_entrepreneurial_cluster,
    joined.interpolated
from joined
left join counties using (county_id)
window county_years as (partition by joined.county_id order by joined.year),
    county as (partition by joined.county_id)

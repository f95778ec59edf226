-- Study S004: the density-based cluster index of the county panel, year by year: counties with
-- firm records, firms, counties whose records show a cluster and an entrepreneurial cluster,
-- and the distribution of the index (marts.county_year).
select
    year,
    count(*) filter (where n_firms > 0) as counties_with_records,
    cast(sum(n_firms) as bigint) as firms,
    count(*) filter (where cluster) as counties_with_cluster,
    count(*) filter (where entrepreneurial_cluster) as counties_with_entrepreneurial_cluster,
    count(*) filter (where other_cluster) as counties_with_other_cluster,
    {{ ordered('avg', 'cluster_index') }} filter (where n_firms > 0) as mean_cluster_index,
    median(cluster_index) filter (where n_firms > 0) as median_cluster_index,
    quantile_cont(cluster_index, 0.9) filter (where n_firms > 0) as p90_cluster_index,
    max(cluster_index) as max_cluster_index
from {{ ref('county_year') }}
group by year
order by year

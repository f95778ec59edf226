-- Cluster summary per county and year with firm records: firm count, the strongest industry's
-- density-based index, and whether the county has a cluster and an entrepreneurial cluster.
-- cluster_index is the highest dbi among industries with at least the cluster firm floor, so
-- that an industry of one or two firms cannot set it; a county with no industry that large has
-- no candidate cluster and gets 0.
with industries as (
    select
        county_id,
        year,
        cic4,
        n_firms as industry_firms,
        county_firms,
        dbi,
        is_cluster,
        is_entrepreneurial_cluster
    from {{ ref('int_county_industry_cluster_index') }}
)

select
    county_id,
    year,
    any_value(county_firms) as n_firms,
    coalesce(max(dbi) filter (where industry_firms >= {{ var('cluster_min_firms') }}), 0) as cluster_index,
    arg_max(cic4, dbi) filter (where industry_firms >= {{ var('cluster_min_firms') }})
        as cluster_index_industry,
    count(*) filter (where is_cluster) as n_cluster_industries,
    count(*) filter (where is_entrepreneurial_cluster) as n_entrepreneurial_cluster_industries,
    bool_or(is_cluster) as cluster,
    bool_or(is_entrepreneurial_cluster) as entrepreneurial_cluster
from industries
group by county_id, year

-- Density-based cluster index per county, year and 4-digit industry, from the firm records.
--
-- dbi = (N_ckt / N_ct) / (N_kt / N_t): the density of industry k's firms among county c's
-- firms relative to its density among all firms of the nation (every county in the records)
-- that year; N counts firm records. The records hold no county land area, so density is taken
-- per firm of the county rather than per square kilometre.
--
-- is_cluster: dbi >= 10, at least 8 firms of the industry, and the industry at least 15% of the
-- county's firms. The firm floor keeps out industries that look dense by a handful of firms,
-- and the share floor keeps out a large county's ordinary specialities; together they pick the
-- single-industry firm stocks the embedded default plants (half to all of a county's ordinary
-- firm stock in one industry, at least 15 firms once grown).
--
-- is_entrepreneurial_cluster: a cluster where small private firms are at least half of the
-- industry's firms in the county: 登记注册类型 170-174 (私营) with fewer than 300 employees
-- (the upper bound of a small industrial firm in NBS's 2003 size standard, which covers the
-- 1998-2007 records).

{{ config(materialized='table') }}

with firms as (
    select
        county_id,
        year,
        cic4,
        registration_type between '170' and '174'
            and coalesce(employment < {{ var('small_firm_max_employment') }}, false)
            as is_small_private
    from {{ ref('stg_asif_firm_year') }}
),

county_industry as (
    select
        county_id,
        year,
        cic4,
        count(*) as n_firms,
        count(*) filter (where is_small_private) as n_small_private
    from firms
    group by county_id, year, cic4
),

densities as (
    select
        *,
        sum(n_firms) over (partition by county_id, year) as county_firms,
        sum(n_firms) over (partition by year, cic4) as national_industry_firms,
        sum(n_firms) over (partition by year) as national_firms
    from county_industry
),

indexed as (
    select
        county_id,
        year,
        cic4,
        n_firms,
        n_small_private,
        county_firms,
        national_industry_firms,
        national_firms,
        n_firms / county_firms as county_share,
        n_small_private / n_firms as small_private_share,
        (n_firms / county_firms) / (national_industry_firms / national_firms) as dbi
    from densities
)

select
    *,
    dbi >= {{ var('cluster_min_dbi') }}
        and n_firms >= {{ var('cluster_min_firms') }}
        and county_share >= {{ var('cluster_min_county_share') }}
        as is_cluster,
    dbi >= {{ var('cluster_min_dbi') }}
        and n_firms >= {{ var('cluster_min_firms') }}
        and county_share >= {{ var('cluster_min_county_share') }}
        and small_private_share >= {{ var('entrepreneurial_min_share') }}
        as is_entrepreneurial_cluster
from indexed

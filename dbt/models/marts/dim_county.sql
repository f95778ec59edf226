-- One row per county-level unit of the roster (ref_county), with its city and province, and
-- whether it appears in the county yearbook and the firm records.
with roster as (
    select * from {{ ref('ref_county') }}
),

cities as (
    select city_id, current_name as city_name from {{ ref('int_city_names') }}
),

provinces as (
    select distinct province_id, province_name from {{ ref('ref_city') }}
),

yearbook_counties as (
    select distinct county_id from {{ ref('stg_county_yearbook') }}
),

firm_counties as (
    select county_id, count(*) as n_firm_records
    from {{ ref('stg_asif_firm_year') }}
    group by county_id
)

select
    roster.county_id,
    roster.county_name,
    roster.city_id,
    cities.city_name,
    roster.province_id,
    provinces.province_name,
    roster.region,
    roster.longitude,
    roster.latitude,
    yearbook_counties.county_id is not null as in_county_yearbook,
    coalesce(firm_counties.n_firm_records, 0) as n_firm_records
from roster
left join cities using (city_id)
left join provinces using (province_id)
left join yearbook_counties using (county_id)
left join firm_counties using (county_id)

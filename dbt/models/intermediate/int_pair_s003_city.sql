-- Cities of study S003: regions of every CEADs city MRIO table (2012, 2015 and 2017) that are
-- yearbook cities with a row in the city-year panel in every year of S003's periods
-- (ref_s003_period: 2012-2017). Regions outside the
-- yearbook (autonomous prefectures, 地区, 盟) and cities that became prefecture-level during the
-- period (儋州市 2015) are left out, as the seed leaves out cities with administrative changes.
with ceads_tables as (
    select count(distinct year) as n_tables
    from {{ ref('stg_ceads_region') }}
),

ceads_regions as (
    select city_id
    from {{ ref('stg_ceads_region') }}
    group by city_id
    having count(distinct year) = (select n_tables from ceads_tables)
),

period_years as (
    select min(first_year) as first_year, max(last_year) as last_year
    from {{ ref('ref_s003_period') }}
),

yearbook_every_period_year as (
    select city_id
    from {{ ref('int_pair_city_inputs') }}, period_years
    where year between period_years.first_year and period_years.last_year
    group by city_id, period_years.first_year, period_years.last_year
    having count(distinct year) = period_years.last_year - period_years.first_year + 1
)

select
    ref_city.city_id,
    ref_city.city_name,
    ref_city.region,
    ref_city.longitude,
    ref_city.latitude
from ceads_regions
inner join yearbook_every_period_year using (city_id)
inner join {{ ref('ref_city') }} as ref_city using (city_id)

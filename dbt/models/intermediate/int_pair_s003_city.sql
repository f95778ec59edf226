-- Cities of study S003: regions of every CEADs city MRIO table (2012, 2015 and 2017) that are
-- yearbook cities with a row in the city-year panel in every year 2012-2017. Regions outside the
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

yearbook_2012_2017 as (
    select city_id
    from {{ ref('int_pair_city_inputs') }}
    where year between 2012 and 2017
    group by city_id
    having count(distinct year) = 6
)

select
    ref_city.city_id,
    ref_city.city_name,
    ref_city.region,
    ref_city.longitude,
    ref_city.latitude
from ceads_regions
inner join yearbook_2012_2017 using (city_id)
inner join {{ ref('ref_city') }} as ref_city using (city_id)

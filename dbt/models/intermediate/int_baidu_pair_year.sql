-- Daily average Baidu search index for every ordered pair of cities (origin searching for target)
-- and every year with a Baidu file. A pair absent from a year's file had no measurable searches:
-- 0, not missing. Cities: those of the city yearbook plus any city in the Baidu files.
with cities as (
    select city_id from {{ ref('int_pair_city_inputs') }}
    union
    select origin_city_id from {{ ref('stg_baidu_index') }}
    union
    select target_city_id from {{ ref('stg_baidu_index') }}
),

years as (
    select distinct year from {{ ref('stg_baidu_index') }}
)

select
    origin.city_id as origin_city_id,
    target.city_id as target_city_id,
    years.year,
    coalesce(baidu.daily_index, 0.0) as daily_index,
    baidu.daily_index is not null as in_source
from cities as origin
inner join cities as target on origin.city_id <> target.city_id
cross join years
left join {{ ref('stg_baidu_index') }} as baidu
    on baidu.origin_city_id = origin.city_id
    and baidu.target_city_id = target.city_id
    and baidu.year = years.year

-- Great-circle distance and seed 003 distance tier for every unordered pair of roster cities
-- (city_a < city_b), from the reference coordinates.
with cities as (
    select city_id, longitude, latitude
    from {{ ref('ref_city') }}
    where longitude is not null and latitude is not null
),

pairs as (
    select
        a.city_id as city_a,
        b.city_id as city_b,
        {{ great_circle_km('a.longitude', 'a.latitude', 'b.longitude', 'b.latitude') }}
            as distance_km
    from cities as a
    inner join cities as b on a.city_id < b.city_id
)

select
    city_a,
    city_b,
    distance_km,
    {{ distance_tier('distance_km') }} as distance_tier,
    {{ distance_tier_id('distance_km') }} as distance_tier_id
from pairs

-- Great-circle distance and seed 003 distance tier for every unordered pair of roster cities
-- (city_a < city_b), from the reference coordinates. The tiers are the rows of seed
-- ref_distance_tier (lower bound inclusive, upper bound exclusive); a pair at or beyond the last
-- upper bound falls outside them and gets a tier of its own ('<last upper bound>+', the next id)
-- rather than being dropped or merged into the last tier.
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
),

tiers as (
    select * from {{ ref('ref_distance_tier') }}
),

beyond_tiers as (
    select max(upper_km) as lower_km, max(tier_id) + 1 as tier_id
    from tiers
)

select
    pairs.city_a,
    pairs.city_b,
    pairs.distance_km,
    coalesce(tiers.tier, beyond_tiers.lower_km || '+') as distance_tier,
    coalesce(tiers.tier_id, beyond_tiers.tier_id) as distance_tier_id
from pairs
cross join beyond_tiers
left join tiers
    on pairs.distance_km >= tiers.lower_km and pairs.distance_km < tiers.upper_km

-- Strength of economic ties of unordered city pairs (city_a < city_b) by year, by the gravity
-- form R_ab = sqrt(P_a G_a) sqrt(P_b G_b) / D_ab^2 (P resident population in 万人, G GDP in 万元,
-- D great-circle distance in km), for the years both cities are in the yearbook. A pair has
-- strong ties in a year when R is above that year's median over all pairs, and strong ties
-- overall when its mean R over the years before the first pilot year (ties_base) is above the
-- median of ties_base over all pairs, a fixed pre-treatment rule for keeping pairs;
-- ties_base_percentile places the pair among all pairs (percent rank of ties_base, 0 = weakest,
-- 1 = strongest), so a study keeps the pairs above any threshold it documents.
with city_years as (
    select city_id, year, pop_resident, gdp
    from {{ ref('int_pair_city_year') }}
),

pair_years as (
    select
        a.city_id as city_a,
        b.city_id as city_b,
        a.year,
        sqrt(a.pop_resident * a.gdp) * sqrt(b.pop_resident * b.gdp)
            / pow(distance.distance_km, 2) as ties
    from city_years as a
    inner join city_years as b on a.year = b.year and a.city_id < b.city_id
    inner join {{ ref('int_pair_distance') }} as distance
        on distance.city_a = a.city_id and distance.city_b = b.city_id
),

first_pilot_year as (
    select min(first_treated_year) as year
    from {{ ref('int_pilot_city') }}
    where programme = 'cbec'
),

pair_base as (
    select
        city_a,
        city_b,
        {{ ordered('avg', 'ties') }} filter (where year < (select year from first_pilot_year)) as ties_base
    from pair_years
    group by city_a, city_b
),

pair_strength as (
    select
        city_a,
        city_b,
        ties_base,
        ties_base > (select median(ties_base) from pair_base) as strong_tie,
        case when ties_base is not null
             then percent_rank() over (partition by ties_base is null order by ties_base)
        end as ties_base_percentile
    from pair_base
)

select
    pair_years.city_a,
    pair_years.city_b,
    pair_years.year,
    pair_years.ties,
    pair_years.ties > median(pair_years.ties) over (partition by pair_years.year)
        as strong_tie_year,
    pair_strength.ties_base,
    pair_strength.strong_tie,
    pair_strength.ties_base_percentile
from pair_years
inner join pair_strength using (city_a, city_b)

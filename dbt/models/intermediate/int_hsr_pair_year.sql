-- HSR connectivity of unordered city pairs (city_a < city_b) by year, 2008-2023: the number of
-- lines serving both cities. A line connects a pair from the later of the dates it serves each
-- city; in that year it counts by the share of the year it was open, (1 January of the next
-- year - date) / days in the year, and fully from the next year on. Only pairs that share a line
-- by 2023 have rows; every other pair has 0 lines.
with line_pairs as (
    select
        a.line_name,
        a.city_id as city_a,
        b.city_id as city_b,
        greatest(a.served_from, b.served_from) as connected_from
    from {{ ref('int_hsr_line_city') }} as a
    inner join {{ ref('int_hsr_line_city') }} as b
        on a.line_name = b.line_name and a.city_id < b.city_id
),

years as (
    select cast(range as integer) as year
    from range(2008, 2024)
),

line_pair_years as (
    select
        line_pairs.city_a,
        line_pairs.city_b,
        years.year,
        case
            when year(line_pairs.connected_from) < years.year then 1.0
            when year(line_pairs.connected_from) = years.year then
                date_diff('day', line_pairs.connected_from, make_date(years.year + 1, 1, 1))
                / date_diff('day', make_date(years.year, 1, 1), make_date(years.year + 1, 1, 1))
            else 0.0
        end as line_share
    from line_pairs
    cross join years
)

select
    city_a,
    city_b,
    year,
    {{ ordered('sum', 'line_share') }} as hsr_lines
from line_pair_years
group by city_a, city_b, year

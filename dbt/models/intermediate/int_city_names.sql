-- Each roster city's current name and the names it bore with their years, from the roster
-- (ref_city) and the name history (ref_city_name_history) alone, so that a model needing a
-- city's name (dim_city, dim_county) does not depend on the city yearbooks.
with roster as (
    select * from {{ ref('ref_city') }}
),

name_history as (
    select * from {{ ref('ref_city_name_history') }}
),

-- The roster name is the name of the period the history does not cover: after the last
-- historical name, or, when the history already holds the name in use (to 9999), before it.
roster_name_period as (
    select
        roster.city_id,
        roster.city_name as name,
        case when max(name_history.valid_to) filter (where name_history.valid_to >= 9999) is not null
             then roster.valid_from
             else coalesce(max(name_history.valid_to) + 1, roster.valid_from)
        end as from_year,
        coalesce(
            min(name_history.valid_from) filter (where name_history.valid_to >= 9999) - 1,
            roster.valid_to
        ) as to_year
    from roster
    left join name_history using (city_id)
    where not exists (
        select 1 from name_history as same
        where same.city_id = roster.city_id and same.historical_name = roster.city_name
    )
    group by roster.city_id, roster.city_name, roster.valid_from, roster.valid_to
),

names as (
    select city_id, historical_name as name, valid_from as from_year, valid_to as to_year
    from name_history
    union all
    select city_id, name, from_year, to_year
    from roster_name_period
),

names_by_city as (
    select
        city_id,
        list({'name': name, 'from_year': from_year, 'to_year': to_year} order by from_year)
            as name_history,
        arg_max(name, to_year) as current_name
    from names
    group by city_id
)

select city_id, current_name, name_history from names_by_city

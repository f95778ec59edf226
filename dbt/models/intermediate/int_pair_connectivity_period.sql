-- HSR and information connectivity of every ordered pair i -> j (i <> j) of the S003 cities in
-- each S003 period: connectivity_hsr is the mean over the period's years of the pair's HSR line
-- count; connectivity_i = ln(1 + mean over the period's years of the daily Baidu index searching
-- from i for j); connectivity_double is their product.
with pairs as (
    select i.city_id as city_i, j.city_id as city_j
    from {{ ref('int_pair_s003_city') }} as i
    inner join {{ ref('int_pair_s003_city') }} as j on i.city_id <> j.city_id
),

period_years as (
    select
        period,
        period_id,
        cast(unnest(range(first_year, last_year + 1)) as integer) as year
    from {{ s003_periods() }}
),

pair_years as (
    select
        pairs.city_i,
        pairs.city_j,
        period_years.period,
        period_years.period_id,
        period_years.year
    from pairs
    cross join period_years
),

hsr_connectivity as (
    select
        pair_years.city_i,
        pair_years.city_j,
        pair_years.period,
        pair_years.period_id,
        {{ ordered('avg', 'coalesce(hsr_year.hsr_lines, 0.0)') }} as connectivity_hsr
    from pair_years
    left join {{ ref('int_hsr_pair_year') }} as hsr_year
        on hsr_year.city_a = least(pair_years.city_i, pair_years.city_j)
        and hsr_year.city_b = greatest(pair_years.city_i, pair_years.city_j)
        and hsr_year.year = pair_years.year
    group by pair_years.city_i, pair_years.city_j, pair_years.period, pair_years.period_id
),

baidu_connectivity as (
    select
        baidu.origin_city_id as city_i,
        baidu.target_city_id as city_j,
        period_years.period,
        {{ ordered('avg', 'baidu.daily_index') }} as baidu_daily_mean,
        count(*) as baidu_years
    from {{ ref('int_baidu_pair_year') }} as baidu
    inner join period_years on period_years.year = baidu.year
    group by baidu.origin_city_id, baidu.target_city_id, period_years.period
)

select
    hsr_connectivity.city_i,
    hsr_connectivity.city_j,
    hsr_connectivity.period,
    hsr_connectivity.period_id,
    hsr_connectivity.connectivity_hsr,
    coalesce(baidu_connectivity.baidu_daily_mean, 0.0) as baidu_daily_mean,
    coalesce(baidu_connectivity.baidu_years, 0) as baidu_years,
    ln(1 + coalesce(baidu_connectivity.baidu_daily_mean, 0.0)) as connectivity_i,
    hsr_connectivity.connectivity_hsr * ln(1 + coalesce(baidu_connectivity.baidu_daily_mean, 0.0))
        as connectivity_double
from hsr_connectivity
left join baidu_connectivity using (city_i, city_j, period)

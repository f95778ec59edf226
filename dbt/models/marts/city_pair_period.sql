-- Study S003: ordered city pairs i -> j (i <> j) of the S003 cities x periods '2012-2015' and
-- '2015-2017', with connectivity, distance, economic gradient, controls and mechanism variables
-- of both cities (period means), and the industrial transfer from i to j.
with connectivity as (
    select * from {{ ref('int_pair_connectivity_period') }}
),

city_period as (
    select * from {{ ref('int_pair_city_period') }}
),

cities as (
    select city_id, city_name from {{ ref('int_pair_s003_city') }}
),

distance as (
    select * from {{ ref('int_pair_distance') }}
),

transfer as (
    select * from {{ source('io', 'transfer') }}
)

select
    connectivity.city_i || '_' || connectivity.city_j as pair_id,
    connectivity.period_id,
    connectivity.period,
    connectivity.city_i,
    connectivity.city_j,
    names_i.city_name as city_i_name,
    names_j.city_name as city_j_name,

    connectivity.connectivity_hsr,
    connectivity.connectivity_i,
    connectivity.connectivity_double,
    connectivity.baidu_daily_mean,

    distance.distance_km,
    distance.distance_tier,
    distance.distance_tier_id,

    ci.gdppc as gdppc_i,
    cj.gdppc as gdppc_j,
    case
        when ci.gdppc > cj.gdppc then 'down'
        when ci.gdppc <= cj.gdppc then 'up'
    end as gradient_gdppc,
    ci.pop as pop_i,
    cj.pop as pop_j,
    case
        when ci.pop > cj.pop then 'down'
        when ci.pop <= cj.pop then 'up'
    end as gradient_pop,

    ci.ed as ed_i,
    ci.u as u_i,
    ci.fi as fi_i,
    ci.hc as hc_i,
    ci.ft as ft_i,
    ci.ge as ge_i,
    cj.ed as ed_j,
    cj.u as u_j,
    cj.fi as fi_j,
    cj.hc as hc_j,
    cj.ft as ft_j,
    cj.ge as ge_j,

    ci.factor_labor as factor_labor_i,
    ci.factor_fcapital as factor_fcapital_i,
    ci.factor_ccapital as factor_ccapital_i,
    ci.factor_flc as factor_flc_i,
    ci.factor_clc as factor_clc_i,
    ci.factor_tech as factor_tech_i,
    cj.factor_labor as factor_labor_j,
    cj.factor_fcapital as factor_fcapital_j,
    cj.factor_ccapital as factor_ccapital_j,
    cj.factor_flc as factor_flc_j,
    cj.factor_clc as factor_clc_j,
    cj.factor_tech as factor_tech_j,

    transfer.transfer,
    transfer.it,
    transfer.it_direction,
    transfer.transfer_labor,
    transfer.it_labor,
    transfer.transfer_capital,
    transfer.it_capital,
    transfer.transfer_technology,
    transfer.it_technology
from connectivity
inner join cities as names_i on names_i.city_id = connectivity.city_i
inner join cities as names_j on names_j.city_id = connectivity.city_j
-- ci, cj: the period means of city i and of city j
left join city_period as ci
    on ci.city_id = connectivity.city_i and ci.period = connectivity.period
left join city_period as cj
    on cj.city_id = connectivity.city_j and cj.period = connectivity.period
left join distance
    on distance.city_a = least(connectivity.city_i, connectivity.city_j)
    and distance.city_b = greatest(connectivity.city_i, connectivity.city_j)
left join transfer
    on transfer.city_i = connectivity.city_i
    and transfer.city_j = connectivity.city_j
    and transfer.period = connectivity.period

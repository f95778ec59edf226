-- Study S002: unordered city pairs (city_a < city_b) of yearbook cities x years, from the second
-- yearbook year on, in the years both cities are in the yearbook: business-cycle synchronization,
-- strength of economic ties, cross-border e-commerce pilot timing, heterogeneity and mechanism
-- inputs, and policy-tool intensities of the pair's cities. Heterogeneity splits are fixed per
-- pair: its mean over the years before the first pilot year against the median over pairs.
with city_years as (
    select * from {{ ref('int_pair_city_year') }}
),

cities as (
    select ref_city.city_id, ref_city.city_name, ref_city.region
    from {{ ref('ref_city') }} as ref_city
    where ref_city.city_id in (select city_id from city_years where gdppc is not null)
),

years as (
    select distinct year
    from city_years
    where year > (select min(year) from city_years)
),

pilots as (
    select city_id, batch, approval_date, first_treated_year
    from {{ ref('int_pilot_city') }}
    where programme = 'cbec'
),

tools as (
    select * from {{ ref('int_policy_tool_city_year') }}
),

intensity as (
    select * from {{ ref('policy_tool_intensity') }}
),

first_pilot_year as (
    select min(first_treated_year) as year from pilots
),

pair_years as (
    select
        a.city_id as city_a,
        b.city_id as city_b,
        a.city_name as city_a_name,
        b.city_name as city_b_name,
        a.region as region_a,
        b.region as region_b,
        years.year
    from cities as a
    inner join cities as b on a.city_id < b.city_id
    cross join years
),

-- ya, yb: the two cities' measures in the year; pa, pb: their pilot approvals; ta, tb: their
-- policy-tool counts
pair_measures as (
    select
        pair_years.*,
        ya.gdppc_growth as gdppc_growth_a,
        yb.gdppc_growth as gdppc_growth_b,
        -abs(ya.gdppc_growth - yb.gdppc_growth) as bcs,
        pa.first_treated_year as first_treated_year_a,
        pb.first_treated_year as first_treated_year_b,
        least(pa.first_treated_year, pb.first_treated_year) as pair_first_treated_year,
        (pa.city_id is not null)::integer + (pb.city_id is not null)::integer as pilot_members,
        coalesce(pair_years.year >= pa.first_treated_year, false)::integer
            + coalesce(pair_years.year >= pb.first_treated_year, false)::integer
            as treated_members,
        (ya.hc + yb.hc) / 2 as human_capital,
        (ya.loans_to_gdp + yb.loans_to_gdp) / 2 as financial_development,
        (ya.broadband_per_capita + yb.broadband_per_capita) / 2 as information_infrastructure,
        abs({{ ln_positive('ya.output_per_worker') }} - {{ ln_positive('yb.output_per_worker') }})
            as gap_ln_output_per_worker,
        abs({{ ln_positive('ya.fixed_assets_per_worker') }}
            - {{ ln_positive('yb.fixed_assets_per_worker') }}) as gap_ln_fixed_assets_per_worker,
        coalesce(ta.documents, 0) + coalesce(tb.documents, 0) as documents,
        coalesce(ta.documents_cum, 0) + coalesce(tb.documents_cum, 0) as documents_cum,
        coalesce(ta.supply, 0) + coalesce(tb.supply, 0) as tool_supply,
        coalesce(ta.environment, 0) + coalesce(tb.environment, 0) as tool_environment,
        coalesce(ta.demand, 0) + coalesce(tb.demand, 0) as tool_demand,
        coalesce(ta.supply_cum, 0) + coalesce(tb.supply_cum, 0) as tool_supply_cum,
        coalesce(ta.environment_cum, 0) + coalesce(tb.environment_cum, 0) as tool_environment_cum,
        coalesce(ta.demand_cum, 0) + coalesce(tb.demand_cum, 0) as tool_demand_cum,
        -- the tool indices of the pair's treated cities (null when a treated city has no texts)
        case when pair_years.year >= pa.first_treated_year then ia.supply_index else 0 end
            + case when pair_years.year >= pb.first_treated_year then ib.supply_index else 0 end
            as did_tool_supply,
        case when pair_years.year >= pa.first_treated_year then ia.environment_index else 0 end
            + case when pair_years.year >= pb.first_treated_year then ib.environment_index else 0 end
            as did_tool_environment,
        case when pair_years.year >= pa.first_treated_year then ia.demand_index else 0 end
            + case when pair_years.year >= pb.first_treated_year then ib.demand_index else 0 end
            as did_tool_demand
    from pair_years
    inner join city_years as ya on ya.city_id = pair_years.city_a and ya.year = pair_years.year
    inner join city_years as yb on yb.city_id = pair_years.city_b and yb.year = pair_years.year
    left join pilots as pa on pa.city_id = pair_years.city_a
    left join pilots as pb on pb.city_id = pair_years.city_b
    left join tools as ta on ta.city_id = pair_years.city_a and ta.year = pair_years.year
    left join tools as tb on tb.city_id = pair_years.city_b and tb.year = pair_years.year
    left join intensity as ia on ia.city_id = pair_years.city_a
    left join intensity as ib on ib.city_id = pair_years.city_b
),

-- each pair's endowments before the first pilot year, and whether they are above the median
pre_pilot as (
    select
        city_a,
        city_b,
        {{ ordered('avg', 'human_capital') }} as human_capital_pre,
        {{ ordered('avg', 'financial_development') }} as financial_development_pre,
        {{ ordered('avg', 'information_infrastructure') }} as information_infrastructure_pre
    from pair_measures
    where year < (select year from first_pilot_year)
    group by city_a, city_b
),

splits as (
    select
        city_a,
        city_b,
        human_capital_pre > median(human_capital_pre) over () as high_human_capital,
        financial_development_pre > median(financial_development_pre) over ()
            as high_financial_development,
        information_infrastructure_pre > median(information_infrastructure_pre) over ()
            as high_information_infrastructure
    from pre_pilot
)

select
    pair_measures.city_a || '_' || pair_measures.city_b as pair_id,
    pair_measures.year,
    pair_measures.city_a,
    pair_measures.city_b,
    pair_measures.city_a_name,
    pair_measures.city_b_name,

    pair_measures.gdppc_growth_a,
    pair_measures.gdppc_growth_b,
    pair_measures.bcs,

    distance.distance_km,
    ties.ties,
    ties.strong_tie_year,
    ties.ties_base,
    ties.strong_tie,
    ties.ties_base_percentile,

    pair_measures.first_treated_year_a,
    pair_measures.first_treated_year_b,
    pair_measures.pair_first_treated_year,
    pair_measures.pilot_members,
    pair_measures.treated_members,
    (pair_measures.treated_members > 0)::integer as treated,

    pair_measures.region_a,
    pair_measures.region_b,
    case
        when pair_measures.region_a = 'east' and pair_measures.region_b = 'east' then 'both_east'
        when pair_measures.region_a <> 'east' and pair_measures.region_b <> 'east'
            then 'both_central_west'
        else 'mixed'
    end as region_pair,
    pair_measures.human_capital,
    pair_measures.financial_development,
    pair_measures.information_infrastructure,
    splits.high_human_capital,
    splits.high_financial_development,
    splits.high_information_infrastructure,

    pair_measures.gap_ln_output_per_worker,
    pair_measures.gap_ln_fixed_assets_per_worker,

    pair_measures.documents,
    pair_measures.documents_cum,
    ln(1 + pair_measures.documents_cum) as log_documents_cum,
    pair_measures.tool_supply,
    pair_measures.tool_environment,
    pair_measures.tool_demand,
    pair_measures.tool_supply_cum,
    pair_measures.tool_environment_cum,
    pair_measures.tool_demand_cum,
    pair_measures.tool_supply_cum / nullif(pair_measures.documents_cum, 0) as tool_supply_per_doc,
    pair_measures.tool_environment_cum / nullif(pair_measures.documents_cum, 0)
        as tool_environment_per_doc,
    pair_measures.tool_demand_cum / nullif(pair_measures.documents_cum, 0) as tool_demand_per_doc,
    pair_measures.did_tool_supply,
    pair_measures.did_tool_environment,
    pair_measures.did_tool_demand
from pair_measures
left join {{ ref('int_pair_distance') }} as distance
    on distance.city_a = pair_measures.city_a and distance.city_b = pair_measures.city_b
left join {{ ref('int_pair_tie_year') }} as ties
    on ties.city_a = pair_measures.city_a
    and ties.city_b = pair_measures.city_b
    and ties.year = pair_measures.year
left join splits
    on splits.city_a = pair_measures.city_a and splits.city_b = pair_measures.city_b

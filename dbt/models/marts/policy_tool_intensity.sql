-- Study S002: the policy-tool intensities of each cross-border e-commerce pilot city with policy
-- texts. Keyword occurrences of the supply-, environment- and demand-oriented tools (the
-- dictionary of seed ref_policy_tool_keyword, counted in int_policy_tool_city_year) over all the
-- city's documents, per document, and as an index: occurrences per document relative to the
-- mean over these cities (1 = an average pilot city's texts), which city_pair_year interacts
-- with treatment.
with pilots as (
    select city_id, batch, approval_date, first_treated_year
    from {{ ref('int_pilot_city') }}
    where programme = 'cbec'
),

texts as (
    select
        city_id,
        cast(sum(documents) as bigint) as documents,
        cast(sum(supply) as bigint) as supply,
        cast(sum(environment) as bigint) as environment,
        cast(sum(demand) as bigint) as demand
    from {{ ref('int_policy_tool_city_year') }}
    group by city_id
    having sum(documents) > 0
),

per_document as (
    select
        texts.city_id,
        pilots.batch,
        pilots.approval_date,
        pilots.first_treated_year,
        texts.documents,
        texts.supply,
        texts.environment,
        texts.demand,
        texts.supply / texts.documents as supply_per_document,
        texts.environment / texts.documents as environment_per_document,
        texts.demand / texts.documents as demand_per_document
    from texts
    inner join pilots using (city_id)
)

select
    per_document.city_id,
    ref_city.city_name,
    per_document.* exclude (city_id),
    supply_per_document / nullif({{ ordered('avg', 'supply_per_document') }} over (), 0)
        as supply_index,
    environment_per_document / nullif({{ ordered('avg', 'environment_per_document') }} over (), 0)
        as environment_index,
    demand_per_document / nullif({{ ordered('avg', 'demand_per_document') }} over (), 0)
        as demand_index
from per_document
left join {{ ref('ref_city') }} as ref_city using (city_id)
order by per_document.batch, per_document.city_id

-- Supply-, environment- and demand-oriented policy-tool keyword occurrences in the policy
-- documents of each city and year, and their running totals. Cities: those with at least one
-- document; years: every year of the city-year inputs or of a document (zeros in years without
-- documents).
with keywords as (
    select tool_type as tool, keyword from {{ ref('ref_policy_tool_keyword') }}
),

keyword_occurrences as (
    select
        documents.doc_id,
        documents.city_id,
        documents.year,
        keywords.tool,
        (length(documents.text) - length(replace(documents.text, keywords.keyword, '')))
            // length(keywords.keyword) as occurrences
    from {{ ref('stg_policy_document') }} as documents
    cross join keywords
),

document_counts as (
    select
        doc_id,
        city_id,
        year,
        sum(occurrences) filter (where tool = 'supply') as supply,
        sum(occurrences) filter (where tool = 'environment') as environment,
        sum(occurrences) filter (where tool = 'demand') as demand
    from keyword_occurrences
    group by doc_id, city_id, year
),

city_years as (
    select cities.city_id, years.year
    from (select distinct city_id from document_counts) as cities
    cross join (
        select year from {{ ref('int_pair_city_inputs') }}
        union
        select year from document_counts
    ) as years
),

yearly as (
    select
        city_years.city_id,
        city_years.year,
        count(document_counts.doc_id) as documents,
        coalesce(sum(document_counts.supply), 0) as supply,
        coalesce(sum(document_counts.environment), 0) as environment,
        coalesce(sum(document_counts.demand), 0) as demand
    from city_years
    left join document_counts using (city_id, year)
    group by city_years.city_id, city_years.year
)

select
    city_id,
    year,
    documents,
    supply,
    environment,
    demand,
    sum(documents) over running as documents_cum,
    sum(supply) over running as supply_cum,
    sum(environment) over running as environment_cum,
    sum(demand) over running as demand_cum
from yearly
window running as (
    partition by city_id order by year rows between unbounded preceding and current row
)

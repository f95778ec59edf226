-- Cross-border e-commerce pilot cities with their first approval (a city named in two batches
-- keeps its first) and first treated year: the approval year if approved in January-June, else
-- the next year.
with approvals as (
    select
        city_id,
        batch,
        approval_date,
        row_number() over (partition by city_id order by approval_date, batch) as approval_rank
    from {{ ref('ref_cbec_pilot') }}
)

select
    city_id,
    batch,
    approval_date,
    {{ pilot_first_treated_year('approval_date') }} as first_treated_year
from approvals
where approval_rank = 1

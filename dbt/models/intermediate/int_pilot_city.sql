-- Cities of the two pilot programmes with their first approval and first treated year:
-- big_data (ref_big_data_pilot, national big data comprehensive pilot zones) and cbec
-- (ref_cbec_pilot, cross-border e-commerce comprehensive pilot areas). A city named in several
-- zones or batches keeps its earliest approval. The first treated year is the approval year plus
-- the offset of the approval month in seed ref_pilot_timing (January-June: that year, else the
-- next).
with approvals as (
    select 'big_data' as programme, city_id, cast(null as integer) as batch, approval_date
    from {{ ref('ref_big_data_pilot') }}
    union all
    select 'cbec' as programme, city_id, batch, approval_date
    from {{ ref('ref_cbec_pilot') }}
),

first_approvals as (
    select
        *,
        row_number() over (partition by programme, city_id order by approval_date, batch)
            as approval_rank
    from approvals
)

select
    first_approvals.programme,
    first_approvals.city_id,
    first_approvals.batch,
    first_approvals.approval_date,
    year(first_approvals.approval_date) + timing.first_treated_year_offset as first_treated_year
from first_approvals
join {{ ref('ref_pilot_timing') }} as timing
    on timing.approval_month = month(first_approvals.approval_date)
where first_approvals.approval_rank = 1

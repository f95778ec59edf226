-- Entropy weights of the S001 resilience index, one row per indicator of seed ref_index_indicator. An
-- indicator without values or without variation is left out of the index (included = false,
-- weight 0) and left_out_reason says why.
select
    dimension,
    indicator,
    direction,
    n_obs,
    min_value,
    max_value,
    included,
    left_out_reason,
    entropy,
    divergence,
    weight,
    weight_in_dimension
from {{ ref('int_entropy_resilience_weights') }}
order by position

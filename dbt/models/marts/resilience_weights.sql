-- Entropy weights of the S001 resilience index, one row per indicator.
select
    dimension,
    indicator,
    direction,
    n_obs,
    min_value,
    max_value,
    entropy,
    divergence,
    weight,
    weight_in_dimension
from {{ ref('int_entropy_resilience_weights') }}
order by position

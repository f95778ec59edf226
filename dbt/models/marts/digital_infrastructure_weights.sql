-- Entropy weights of the S000 digital-infrastructure index, one row per indicator.
select
    dimension,
    indicator,
    direction,
    n_obs,
    min_value,
    max_value,
    entropy,
    divergence,
    weight
from {{ ref('int_entropy_digital_infrastructure_weights') }}
order by position

-- Entropy weights of the S001 resilience indicators (seed ref_index_indicator), fitted on the
-- pooled S001 panel.

-- depends_on: {{ ref('ref_index_indicator') }}
{{ config(materialized='table') }}

{{ entropy_weights(ref('int_city_year_s001'), index_indicators('resilience')) }}

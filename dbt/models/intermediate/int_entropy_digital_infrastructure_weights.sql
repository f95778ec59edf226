-- Entropy weights of the S000 digital-infrastructure indicators (seed ref_index_indicator),
-- fitted on the pooled S000 province-year sample.

-- depends_on: {{ ref('ref_index_indicator') }}
{{ config(materialized='table') }}
{%- set sample -%}
(select * from {{ ref('int_province_year_aggregates') }} where in_s000_sample)
{%- endset %}
{{ entropy_weights(sample, index_indicators('digital_infrastructure')) }}

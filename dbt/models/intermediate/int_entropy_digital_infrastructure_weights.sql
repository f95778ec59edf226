-- Entropy weights of the S000 digital-infrastructure indicators, fitted on the pooled S000
-- province-year sample.

{{ config(materialized='table') }}
{%- set sample -%}
(select * from {{ ref('int_province_year_aggregates') }} where in_s000_sample)
{%- endset %}
{{ entropy_weights(sample, digital_infrastructure_indicators()) }}

-- Entropy weights of the S001 resilience indicators, fitted on the pooled S001 panel.

{{ config(materialized='table') }}

{{ entropy_weights(ref('int_city_year_s001'), resilience_indicators()) }}

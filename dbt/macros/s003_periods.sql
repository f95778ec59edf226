{# The observation periods of seed 003 (both ends inclusive; 2015 belongs to both), from the
   seed ref_s003_period, as a relation s003_period (period, period_id, first_year, last_year). #}
{% macro s003_periods() -%}
    (select period, period_id, first_year, last_year from {{ ref('ref_s003_period') }})
        as s003_period
{%- endmacro %}

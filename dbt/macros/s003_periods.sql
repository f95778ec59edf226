{# The observation periods of seed 003 (both ends inclusive); 2015 belongs to both. #}
{% macro s003_periods() -%}
    (values ('2012-2015', 1, 2012, 2015), ('2015-2017', 2, 2015, 2017))
        as s003_period (period, period_id, first_year, last_year)
{%- endmacro %}

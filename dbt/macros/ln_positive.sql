{# Natural log of a positive value; null for zero, negative or missing values. #}
{% macro ln_positive(value) -%}
    ln(nullif(greatest({{ value }}, 0), 0))
{%- endmacro %}

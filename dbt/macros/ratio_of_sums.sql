{# Aggregate ratio sum(numerator) / sum(denominator) over the rows where both are present, so a
   member missing either value drops out of both sums (not only the numerator). #}
{% macro ratio_of_sums(numerator, denominator) -%}
    ({{ ordered('sum', numerator) }} filter (where ({{ numerator }}) is not null and ({{ denominator }}) is not null)
     / nullif({{ ordered('sum', denominator) }} filter (where ({{ numerator }}) is not null and ({{ denominator }}) is not null), 0))
{%- endmacro %}

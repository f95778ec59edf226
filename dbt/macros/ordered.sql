{# A floating-point aggregate that gives the same bits in every build: `aggregate` (sum, avg,
   stddev_pop, ...) of `expression`, taking the values in ascending order. DuckDB otherwise adds
   a group's values up in whatever order its threads deliver them, and floating-point addition
   is not associative, so two builds of the same data would differ in the last bits, and the
   estimates downstream with them. Ordering by the values themselves needs no key: values that
   tie are equal. Works as a window aggregate too ({{ ordered('sum', 'x') }} over (...)). #}
{% macro ordered(aggregate, expression) -%}
    {{ aggregate }}({{ expression }} order by {{ expression }})
{%- endmacro %}

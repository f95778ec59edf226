{# First treated year of a pilot approved on a date: the approval year if approved in January to
   June, else the next year (an approval in October has no effect on that year's data). #}
{% macro pilot_first_treated_year(approval_date) -%}
    (case when month({{ approval_date }}) <= 6 then year({{ approval_date }})
          else year({{ approval_date }}) + 1 end)
{%- endmacro %}

{# The column sums to `total` (within `tolerance`), over the whole model or within each group of
   `group_by` columns; each group that does not is a failing row. #}
{% test sums_to(model, column_name, total=1, tolerance=1e-9, group_by=[]) %}
select
    {%- for col in group_by %}
    {{ col }},
    {%- endfor %}
    sum({{ column_name }}) as column_sum
from {{ model }}
{%- if group_by %}
group by {{ group_by | join(', ') }}
{%- endif %}
having abs(sum({{ column_name }}) - {{ total }}) > {{ tolerance }}
{% endtest %}

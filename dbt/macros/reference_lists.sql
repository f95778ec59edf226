{# Lists that models build their columns from, read from the reference seeds, so that each list
   has one home (the seed) that dbt, the embedded default and the tests all read.

   They query the seeds when a model is compiled for execution (dbt build or run, after the
   seeds are loaded). While dbt parses the project they return an empty list, so a model that
   calls one declares its dependence on the seed with a `-- depends_on: {{ ref('<seed>') }}`
   line, which puts the seed before the model in the DAG. #}

{# Canonical variables of the city-year panel (ref_city_panel_indicator, in its order, mapped to
   variables by ref_variable_catalog); only those of one source ('city_yearbook' or 'eps') when
   `source` is given. #}
{% macro city_panel_variables(source=none) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set sql -%}
        select catalog.variable
        from {{ ref('ref_city_panel_indicator') }} as panel
        join (select distinct indicator, variable from {{ ref('ref_variable_catalog') }}) as catalog
            using (indicator)
        {% if source is not none %}where panel.source = '{{ source }}'{% endif %}
        order by panel.position
    {%- endset -%}
    {%- set variables = run_query(sql).columns[0].values() | list -%}
    {%- if not variables -%}
        {{ exceptions.raise_compiler_error("ref_city_panel_indicator lists no city-panel indicators" ~ (" of source " ~ source if source is not none else "")) }}
    {%- endif -%}
    {{ return(variables) }}
{% endmacro %}


{# Indicators of an entropy-weighted composite index ('resilience', 'digital_infrastructure') from
   ref_index_indicator, in order, as the list of {dimension, name, direction} that
   entropy_weights() and entropy_index() take. #}
{% macro index_indicators(composite_index) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set sql -%}
        select dimension, indicator, direction
        from {{ ref('ref_index_indicator') }}
        where composite_index = '{{ composite_index }}'
        order by position
    {%- endset -%}
    {%- set indicators = [] -%}
    {%- for row in run_query(sql).rows -%}
        {%- do indicators.append({'dimension': row[0], 'name': row[1], 'direction': row[2]}) -%}
    {%- endfor -%}
    {%- if not indicators -%}
        {{ exceptions.raise_compiler_error("ref_index_indicator has no indicators of index '" ~ composite_index ~ "'") }}
    {%- endif -%}
    {{ return(indicators) }}
{% endmacro %}

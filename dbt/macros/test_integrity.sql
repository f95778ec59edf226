{# The integrity test of a model or seed: its rows satisfy every rule it guarantees, declared
   once per model as one model-level test rather than one test per rule and column (dbt runs
   every test as a node of its own, and a node's overhead far exceeds its query):
       data_tests:
         - integrity:
             name: integrity_<model>
             arguments:
               unique: [[city_id, year]]              # column sets that identify a row
               not_null: [city_id, year, population]
               accepted_values: {population_source: [resident, registered]}
               conditions: ["(population_source is null) = (population is null)"]
   Every argument is optional. A condition is SQL on one row; a null result counts as
   satisfied. Accepted values are compared as text, as dbt's accepted_values test does; a null
   is accepted (not_null rules it out). A row with a null in a unique column set is left to
   not_null, as dbt's unique test leaves it.
   Each failing row is a row of the model preceded by failure, the rule it breaks
   ("city_id is null", "population_source not in (resident, registered)",
   "duplicate (city_id, year)", "not: <condition>"); a row breaking two rules fails twice.
   Rules whose failures should only warn get a test of their own with config: {severity: warn};
   ranges and shares of measured values are plausibility tests (test_plausible.sql). #}
{% test integrity(model, unique=[], not_null=[], accepted_values={}, conditions=[]) %}
{%- set rules = [] -%}
{%- for columns in unique -%}
    {%- set key = columns | join(', ') -%}
    {%- do rules.append(("duplicate (" ~ key ~ ")",
                         "where " ~ columns | join(' is not null and ') ~ " is not null"
                         ~ " qualify count(*) over (partition by " ~ key ~ ") > 1")) -%}
{%- endfor -%}
{%- for column in not_null -%}
    {%- do rules.append((column ~ " is null", "where " ~ column ~ " is null")) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set quoted = [] -%}
    {%- for value in values -%}
        {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do rules.append((column ~ " not in (" ~ values | join(', ') ~ ")",
                         "where cast(" ~ column ~ " as varchar) not in (" ~ quoted | join(', ')
                         ~ ")")) -%}
{%- endfor -%}
{%- for condition in conditions -%}
    {%- do rules.append(("not: " ~ condition, "where not coalesce((" ~ condition ~ "), true)")) -%}
{%- endfor -%}
{%- if not rules -%}
    {{ exceptions.raise_compiler_error("integrity test on " ~ model ~ " declares no rule") }}
{%- endif -%}
{% for failure, where in rules %}
select '{{ failure | replace("'", "''") }}' as failure, * from {{ model }} {{ where }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
{% endtest %}

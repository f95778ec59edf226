{# ref() and source() as dbt's own, without the database part: "intermediate"."int_x" rather
   than "warehouse"."intermediate"."int_x". dbt runs on the warehouse attached as "warehouse"
   (models_py/dbt_attach.py), whatever the file's name; a view names the relations it reads by
   schema and name only, so it works in whichever catalog holds it: the warehouse file opened
   directly (whose catalog is its file name), its analysts' copy, a copy under another name. #}
{% macro ref() %}
    {{ return(builtins.ref(*varargs, **kwargs).include(database=False)) }}
{% endmacro %}

{% macro source(source_name, table_name) %}
    {{ return(builtins.source(source_name, table_name).include(database=False)) }}
{% endmacro %}

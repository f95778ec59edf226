{# The five distance tiers of seed 003 as (id, lower km, upper km), lower bound inclusive and
   upper bound exclusive. Pairs beyond the last bound fall outside the seed's tiers and get a
   label of their own ('4000+', id 6) rather than being dropped or merged into the last tier. #}
{% macro distance_tier_bounds() -%}
    {{ return([(1, 0, 200), (2, 200, 500), (3, 500, 1000), (4, 1000, 2000), (5, 2000, 4000)]) }}
{%- endmacro %}

{% macro distance_tier(distance_km) -%}
    {%- set bounds = distance_tier_bounds() -%}
    case
    {%- for id, lo, hi in bounds %}
        when {{ distance_km }} < {{ hi }} then '{{ lo }}-{{ hi }}'
    {%- endfor %}
        when {{ distance_km }} >= {{ bounds[-1][2] }} then '{{ bounds[-1][2] }}+'
    end
{%- endmacro %}

{% macro distance_tier_id(distance_km) -%}
    {%- set bounds = distance_tier_bounds() -%}
    case
    {%- for id, lo, hi in bounds %}
        when {{ distance_km }} < {{ hi }} then {{ id }}
    {%- endfor %}
        when {{ distance_km }} >= {{ bounds[-1][2] }} then {{ bounds | length + 1 }}
    end
{%- endmacro %}

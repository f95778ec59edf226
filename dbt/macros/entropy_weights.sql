{# Entropy-weight method over a pooled panel, as the seed papers use it.

   `indicators` is a list of {name, dimension, direction}: `name` a column of `relation`,
   `direction` 'positive' (more is better) or 'negative'. For each indicator, over the rows of
   `relation` where it is not null (n of them):
     x' = (x - min) / (max - min) for a positive indicator, (max - x) / (max - min) for a
          negative one, plus `shift` (0.0001) so that p ln p is finite at the minimum;
     p  = x' / sum(x');   e = -(1 / ln n) * sum(p ln p);   d = 1 - e;
     weight = d / sum(d) over all indicators; weight_in_dimension = d / sum(d) within the
     indicator's dimension (the weight the same method gives when run on that dimension alone).
   An indicator without variation (max = min) gets null weights.

   entropy_weights() returns one row per indicator; entropy_index() scores the rows of a
   relation with those weights. #}
{% macro entropy_weights(relation, indicators, shift=0.0001) -%}
with indicator_definitions as (
    select * from (values
        {%- for ind in indicators %}
        ('{{ ind.dimension }}', '{{ ind.name }}', '{{ ind.direction }}', {{ loop.index }}){{ "," if not loop.last }}
        {%- endfor %}
    ) as definitions (dimension, indicator, direction, position)
),

indicator_values as (
    unpivot (
        select
            {%- for ind in indicators %}
            cast({{ ind.name }} as double) as {{ ind.name }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ relation }}
    )
    on {{ indicators | map(attribute='name') | join(', ') }}
    into name indicator value x
),

bounds as (
    select indicator, count(*) as n_obs, min(x) as min_value, max(x) as max_value
    from indicator_values
    group by indicator
),

standardized as (
    select
        indicator_values.indicator,
        case when indicator_definitions.direction = 'negative'
             then bounds.max_value - indicator_values.x
             else indicator_values.x - bounds.min_value
        end / nullif(bounds.max_value - bounds.min_value, 0) + {{ shift }} as x_std
    from indicator_values
    join bounds using (indicator)
    join indicator_definitions using (indicator)
),

shares as (
    select indicator, x_std / sum(x_std) over (partition by indicator) as p
    from standardized
),

entropies as (
    select
        shares.indicator,
        -sum(shares.p * ln(shares.p)) / nullif(ln(any_value(bounds.n_obs)), 0) as entropy
    from shares
    join bounds using (indicator)
    group by shares.indicator
),

divergences as (
    select
        indicator_definitions.*,
        bounds.n_obs,
        bounds.min_value,
        bounds.max_value,
        entropies.entropy,
        1 - entropies.entropy as divergence
    from indicator_definitions
    left join bounds using (indicator)
    left join entropies using (indicator)
)

select
    dimension,
    indicator,
    direction,
    position,
    n_obs,
    min_value,
    max_value,
    entropy,
    divergence,
    divergence / sum(divergence) over () as weight,
    divergence / sum(divergence) over (partition by dimension) as weight_in_dimension
from divergences
order by position
{%- endmacro %}


{# Scores every row of `relation` with weights from entropy_weights() (`weights_relation`):
   the standardized indicators (<name>_std, with the bounds the weights were fitted on), the
   index = sum(weight * x') named `index_name`, and, when the indicators span several
   dimensions, one sub-index per dimension, <index_name>_<dimension> = sum(weight_in_dimension
   * x') over that dimension. A row with any indicator missing gets a null index. #}
{% macro entropy_index(relation, weights_relation, id_columns, indicators, index_name, shift=0.0001) -%}
{%- set dimensions = [] -%}
{%- for ind in indicators if ind.dimension not in dimensions -%}
    {%- do dimensions.append(ind.dimension) -%}
{%- endfor -%}
with fitted as (
    select
        {%- for ind in indicators %}
        max(min_value) filter (where indicator = '{{ ind.name }}') as {{ ind.name }}__min,
        max(max_value) filter (where indicator = '{{ ind.name }}') as {{ ind.name }}__max,
        max(weight) filter (where indicator = '{{ ind.name }}') as {{ ind.name }}__weight,
        max(weight_in_dimension) filter (where indicator = '{{ ind.name }}') as {{ ind.name }}__weight_in_dimension{{ "," if not loop.last }}
        {%- endfor %}
    from {{ weights_relation }}
),

standardized as (
    select
        {%- for col in id_columns %}
        scored.{{ col }},
        {%- endfor %}
        {%- for ind in indicators %}
        {%- if ind.direction == 'negative' %}
        (fitted.{{ ind.name }}__max - scored.{{ ind.name }})
        {%- else %}
        (scored.{{ ind.name }} - fitted.{{ ind.name }}__min)
        {%- endif %}
            / nullif(fitted.{{ ind.name }}__max - fitted.{{ ind.name }}__min, 0) + {{ shift }}
            as {{ ind.name }}_std{{ "," if not loop.last }}
        {%- endfor %}
    from {{ relation }} as scored
    cross join fitted
)

select
    standardized.*,
    {%- for ind in indicators %}
    fitted.{{ ind.name }}__weight * standardized.{{ ind.name }}_std{{ " +" if not loop.last }}
    {%- endfor %}
        as {{ index_name }}
    {%- if dimensions | length > 1 %}
    {%- for dim in dimensions %},
    {%- set members = indicators | selectattr('dimension', 'equalto', dim) | list %}
    {%- for ind in members %}
    fitted.{{ ind.name }}__weight_in_dimension * standardized.{{ ind.name }}_std{{ " +" if not loop.last }}
    {%- endfor %}
        as {{ index_name }}_{{ dim }}
    {%- endfor %}
    {%- endif %}
from standardized
cross join fitted
{%- endmacro %}

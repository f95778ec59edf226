{# Entropy-weight method over a pooled panel, as the seed papers use it.

   `indicators` is a list of {name, dimension, direction} (index_indicators() reads it from the
   seed ref_index_indicator): `name` a column of `relation`, `direction` 'positive' (more is
   better) or 'negative'. For each indicator, over the rows of `relation` where it is not null
   (n of them):
     x' = (x - min) / (max - min) for a positive indicator, (max - x) / (max - min) for a
          negative one, plus `shift` (var entropy_shift, 0.0001) so that p ln p is finite at
          the minimum;
     p  = x' / sum(x');   e = -(1 / ln n) * sum(p ln p);   d = 1 - e;
     weight = d / sum(d) over the included indicators; weight_in_dimension = d / sum(d) over the
     included indicators of its dimension (the weight the same method gives when run on that
     dimension alone).
   The index is computed over the indicators that are present: an indicator with no values in
   the relation, or with one value everywhere (no variation, so no entropy), is left out, with
   included = false, weight 0 and left_out_reason saying why.

   entropy_weights() returns one row per indicator; entropy_index() scores the rows of a
   relation with those weights. #}
{% macro entropy_weights(relation, indicators, shift=none) -%}
{%- set shift = var('entropy_shift') if shift is none else shift -%}
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

coverage as (
    select
        indicator_definitions.*,
        coalesce(bounds.n_obs, 0) as n_obs,
        bounds.min_value,
        bounds.max_value,
        case
            when bounds.n_obs is null then 'no values in the panel'
            when bounds.max_value = bounds.min_value
                then 'no variation: every value is ' || bounds.min_value
        end as left_out_reason
    from indicator_definitions
    left join bounds using (indicator)
),

standardized as (
    select
        indicator_values.indicator,
        case when coverage.direction = 'negative'
             then coverage.max_value - indicator_values.x
             else indicator_values.x - coverage.min_value
        end / (coverage.max_value - coverage.min_value) + {{ shift }} as x_std
    from indicator_values
    join coverage using (indicator)
    where coverage.left_out_reason is null
),

shares as (
    select indicator, x_std / {{ ordered('sum', 'x_std') }} over (partition by indicator) as p
    from standardized
),

entropies as (
    select
        shares.indicator,
        -{{ ordered('sum', 'shares.p * ln(shares.p)') }} / ln(any_value(coverage.n_obs)) as entropy
    from shares
    join coverage using (indicator)
    group by shares.indicator
),

divergences as (
    select
        coverage.*,
        entropies.entropy,
        1 - entropies.entropy as divergence
    from coverage
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
    left_out_reason is null as included,
    left_out_reason,
    entropy,
    divergence,
    coalesce(divergence / {{ ordered('sum', 'divergence') }} over (), 0) as weight,
    coalesce(divergence / {{ ordered('sum', 'divergence') }} over (partition by dimension), 0)
        as weight_in_dimension
from divergences
order by position
{%- endmacro %}


{# Scores every row of `relation` with weights from entropy_weights() (`weights_relation`):
   the standardized indicators (<name>_std, with the bounds the weights were fitted on), the
   index = sum(weight * x') named `index_name` over the included indicators and, when the
   indicators span several dimensions, one sub-index per dimension, <index_name>_<dimension> =
   sum(weight_in_dimension * x') over that dimension's included indicators (null when none is
   included). A row that lacks an included indicator gets a null index, and
   <index_name>_missing lists the included indicators the row lacks (empty when the index is
   computed), so an index is never null without saying why. #}
{% macro entropy_index(relation, weights_relation, id_columns, indicators, index_name, shift=none) -%}
{%- set shift = var('entropy_shift') if shift is none else shift -%}
{%- set dimensions = [] -%}
{%- for ind in indicators if ind.dimension not in dimensions -%}
    {%- do dimensions.append(ind.dimension) -%}
{%- endfor -%}
with fitted as (
    select
        {%- for ind in indicators %}
        max(min_value) filter (where indicator = '{{ ind.name }}') as {{ ind.name }}__min,
        max(max_value) filter (where indicator = '{{ ind.name }}') as {{ ind.name }}__max,
        coalesce(bool_or(included) filter (where indicator = '{{ ind.name }}'), false) as {{ ind.name }}__included,
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
            as {{ ind.name }}_std,
        {%- endfor %}
        list_filter([
            {%- for ind in indicators %}
            case when fitted.{{ ind.name }}__included and scored.{{ ind.name }} is null
                 then '{{ ind.name }}' end{{ "," if not loop.last }}
            {%- endfor %}
        ], lambda name: name is not null) as {{ index_name }}_missing
    from {{ relation }} as scored
    cross join fitted
)

select
    standardized.* exclude ({{ index_name }}_missing),
    {%- for ind in indicators %}
    case when fitted.{{ ind.name }}__included
         then fitted.{{ ind.name }}__weight * standardized.{{ ind.name }}_std else 0 end{{ " +" if not loop.last }}
    {%- endfor %}
        as {{ index_name }},
    {%- if dimensions | length > 1 %}
    {%- for dim in dimensions %}
    {%- set members = indicators | selectattr('dimension', 'equalto', dim) | list %}
    case when {% for ind in members %}fitted.{{ ind.name }}__included{{ " or " if not loop.last }}{% endfor %} then
    {%- for ind in members %}
        case when fitted.{{ ind.name }}__included
             then fitted.{{ ind.name }}__weight_in_dimension * standardized.{{ ind.name }}_std else 0 end{{ " +" if not loop.last }}
    {%- endfor %}
    end as {{ index_name }}_{{ dim }},
    {%- endfor %}
    {%- endif %}
    standardized.{{ index_name }}_missing
from standardized
cross join fitted
{%- endmacro %}

{# The condition that an entropy index (or a sub-index) lies in its range [shift, 1 + shift],
   for the models' integrity tests: a row at the maximum of every indicator scores 1 + shift
   up to the rounding of the weighted sum, so the upper bound allows 1e-9 beyond it. #}
{% macro entropy_index_in_range(column, shift=none) -%}
{%- set shift = var('entropy_shift') if shift is none else shift -%}
{{ column }} between {{ shift }} - 1e-9 and 1 + {{ shift }} + 1e-9
{%- endmacro %}

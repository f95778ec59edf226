-- S001 urban economic resilience index per city-year: the entropy-weighted sum of the
-- standardized indicators (seed ref_index_indicator), and one sub-index per dimension
-- (resistance, adaptation, innovation) with the weights the method gives within the dimension.
-- depends_on: {{ ref('ref_index_indicator') }}
{{ entropy_index(
    relation=ref('int_city_year_s001'),
    weights_relation=ref('int_entropy_resilience_weights'),
    id_columns=['city_id', 'year'],
    indicators=index_indicators('resilience'),
    index_name='resilience_index'
) }}

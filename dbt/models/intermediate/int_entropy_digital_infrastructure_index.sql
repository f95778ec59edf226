-- S000 digital-infrastructure index per province-year of the S000 sample: the entropy-weighted
-- sum of the standardized indicators (seed ref_index_indicator).
-- depends_on: {{ ref('ref_index_indicator') }}
{%- set sample -%}
(select * from {{ ref('int_province_year_aggregates') }} where in_s000_sample)
{%- endset %}
{{ entropy_index(
    relation=sample,
    weights_relation=ref('int_entropy_digital_infrastructure_weights'),
    id_columns=['province_id', 'year'],
    indicators=index_indicators('digital_infrastructure'),
    index_name='di_index'
) }}

{# The 14 indicators of the S001 urban economic resilience index, by the seed's three dimensions
   (resistance/recovery, adaptation/adjustment, innovation/transformation), all positive. They
   are the components the embedded default plants (models_py/generate/city_world.py,
   RESILIENCE_COMPONENTS); each is a column of int_city_year_panel. #}
{% macro resilience_indicators() %}
{{ return([
    {'dimension': 'resistance', 'name': 'gdp_per_capita', 'direction': 'positive'},
    {'dimension': 'resistance', 'name': 'trade_dependence', 'direction': 'positive'},
    {'dimension': 'resistance', 'name': 'ui_coverage', 'direction': 'positive'},
    {'dimension': 'resistance', 'name': 'savings_per_capita', 'direction': 'positive'},
    {'dimension': 'resistance', 'name': 'urbanization_rate', 'direction': 'positive'},
    {'dimension': 'adaptation', 'name': 'retail_per_capita', 'direction': 'positive'},
    {'dimension': 'adaptation', 'name': 'gdp_growth', 'direction': 'positive'},
    {'dimension': 'adaptation', 'name': 'fiscal_self_sufficiency', 'direction': 'positive'},
    {'dimension': 'adaptation', 'name': 'loans_to_gdp', 'direction': 'positive'},
    {'dimension': 'adaptation', 'name': 'beds_per_10k', 'direction': 'positive'},
    {'dimension': 'innovation', 'name': 'edu_sci_share', 'direction': 'positive'},
    {'dimension': 'innovation', 'name': 'tertiary_to_secondary', 'direction': 'positive'},
    {'dimension': 'innovation', 'name': 'students_per_10k', 'direction': 'positive'},
    {'dimension': 'innovation', 'name': 'patents_per_10k', 'direction': 'positive'},
]) }}
{% endmacro %}

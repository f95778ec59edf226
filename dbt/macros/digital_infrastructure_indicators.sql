{# The indicators of the S000 digital-infrastructure index, all positive and measured on
   province aggregates of the yearbook cities: broadband and mobile subscribers per 100
   residents and telecom business volume per resident. They are the three series through which
   the embedded default reveals its province digital-infrastructure trend
   (models_py/generate/city_world.py, _s000_digital). #}
{% macro digital_infrastructure_indicators() %}
{{ return([
    {'dimension': 'digital_infrastructure', 'name': 'broadband_per_100', 'direction': 'positive'},
    {'dimension': 'digital_infrastructure', 'name': 'mobile_per_100', 'direction': 'positive'},
    {'dimension': 'digital_infrastructure', 'name': 'telecom_per_capita', 'direction': 'positive'},
]) }}
{% endmacro %}

{# Canonical variables of the wide city-year panel (int_city_year_panel): the city yearbook's
   whole-city (全市) variables and the EPS city series, in their ref_variable_catalog units. #}
{% macro city_yearbook_variables() %}
{{ return([
    'pop_registered', 'pop_resident', 'gdp', 'gdp_per_capita', 'share_secondary',
    'share_tertiary', 'fiscal_revenue', 'fiscal_expenditure', 'science_expenditure',
    'education_expenditure', 'fdi', 'imports', 'exports', 'college_students',
    'employment_urban_units', 'unemployed_registered', 'unemployment_insured',
    'household_savings', 'loans', 'retail_sales', 'hospital_beds', 'broadband_subscribers',
    'mobile_subscribers', 'telecom_volume', 'avg_wage', 'industrial_fixed_assets',
    'industrial_current_assets', 'patents_granted', 'urbanization_rate', 'land_area',
]) }}
{% endmacro %}

{% macro city_eps_variables() %}
{{ return([
    'patent_applications', 'new_digital_firms', 'employment_it', 'employment_research',
    'ip_protection_index', 'policy_capacity_index',
]) }}
{% endmacro %}

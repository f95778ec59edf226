{# Great-circle (haversine) distance in km between two points given in degrees, on a sphere of
   the mean Earth radius R = 6371.0088 km. #}
{% macro great_circle_km(lon1, lat1, lon2, lat2) -%}
    (2 * 6371.0088 * asin(sqrt(least(1.0,
        pow(sin(radians(({{ lat2 }}) - ({{ lat1 }})) / 2), 2)
        + cos(radians({{ lat1 }})) * cos(radians({{ lat2 }}))
          * pow(sin(radians(({{ lon2 }}) - ({{ lon1 }})) / 2), 2)))))
{%- endmacro %}

select
    station,
    city_id
from {{ source('raw', 'hsr_station') }}

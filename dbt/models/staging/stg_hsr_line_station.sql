select
    line_name,
    stage,
    seq,
    station,
    city_id
from {{ source('raw', 'hsr_line_station') }}

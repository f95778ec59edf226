select
    cast(year as integer) as year,
    origin_city_id,
    target_city_id,
    daily_index,
    source_file,
    source_row
from {{ source('raw', 'baidu_index') }}

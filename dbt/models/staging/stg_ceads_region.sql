select
    cast(year as integer) as year,
    position,
    city_id,
    region_name
from {{ source('raw', 'ceads_region') }}

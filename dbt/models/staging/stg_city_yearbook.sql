select
    city_id,
    cast(year as integer) as year,
    variable,
    scope,
    value,
    unit,
    source_file,
    source_row
from {{ source('raw', 'city_yearbook') }}
where variable is not null

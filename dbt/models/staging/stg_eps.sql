select
    region_level,
    region_id,
    cast(year as integer) as year,
    variable,
    value,
    unit,
    source_file,
    source_row
from {{ source('raw', 'eps') }}
where variable is not null

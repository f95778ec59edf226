select
    county_id,
    cast(year as integer) as year,
    variable,
    value,
    unit,
    source_file,
    source_row
from {{ source('raw', 'county_yearbook') }}
where variable is not null and scope = '全市'

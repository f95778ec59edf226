select
    cast(year as integer) as year,
    city_id,
    sector_code,
    ex as exports,
    tfu as total_final_use,
    err as error,
    go as gross_output,
    source_file,
    source_row
from {{ source('raw', 'ceads_row_totals') }}

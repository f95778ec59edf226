select
    line_name,
    stage,
    open_date,
    n_stations,
    source_file,
    source_row
from {{ source('raw', 'hsr_line_stage') }}

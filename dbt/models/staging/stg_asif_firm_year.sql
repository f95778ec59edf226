select
    cast(year as integer) as year,
    firm_id,
    county_id,
    cic4,
    substr(cic4, 1, 2) as cic2,
    output_k_yuan,
    employment,
    open_year,
    registration_type,
    source_file,
    source_row
from {{ source('raw', 'asif_firm_year') }}

select
    doc_id,
    city_id,
    publish_date,
    cast(year(publish_date) as integer) as year,
    title,
    text,
    n_chars,
    source_file,
    source_row
from {{ source('raw', 'policy_document') }}

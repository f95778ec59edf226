-- The date from which each high-speed-rail line (线路名称) serves each city: the opening date of
-- the line's first stage with a station in that city. Stages of one line count as one line.
select
    station.line_name,
    station.city_id,
    min(stage.open_date) as served_from
from {{ ref('stg_hsr_line_station') }} as station
inner join {{ ref('stg_hsr_line_stage') }} as stage
    on stage.line_name = station.line_name and stage.stage = station.stage
group by station.line_name, station.city_id

"""The lab (floor 2): what a student or an instructor touches, standing on the stages and on data_gen.

- ``notebook``  the one setup call of every lesson, and the helpers lessons share
- ``demo``      ``make demo``: the main job end to end
- ``doctor``    ``make doctor``: is this machine ready, and the fix for what is not
- ``live``      progress records as tables, a live chart, the watch loop

The old names (``etl_lib.notebook``, ``etl_lib.demo``, ...) are kept as thin re-exports.
"""

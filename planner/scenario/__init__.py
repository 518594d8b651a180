"""What a valid scenario is: its data (`data`), the workbook schema written once as
data (`schema`), the rule for one value (`values`) and checked changes (`changes`).

Every other layer builds on this one; it imports nothing else of the planner
but `planner.errors`.
"""

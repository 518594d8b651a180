"""Excel in and out: reading a scenario workbook's cells (`reader`), turning them into
a validated `Scenario` or located problems (`validation`), the blank template
(`template`), writing a scenario back as a workbook (`writer`) and the team's own
workbook with its problems marked in place (`annotate`, which imports openpyxl: import
it from its module, so that reading a workbook never pays for it).

Knows nothing of the model, the solver or the reports.
"""

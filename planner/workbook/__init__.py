"""Excel in and out: reading a scenario workbook's cells (`reader`), turning them into
a validated `Scenario` or located problems (`validation`), the blank template
(`template`) and writing a scenario back as a workbook (`writer`).

Knows nothing of the model, the solver or the reports.
"""

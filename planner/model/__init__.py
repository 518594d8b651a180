"""The formulation of SPEC §3 (models/formulation.md) built from a `Scenario`: the
direct numpy matrix handed to HiGHS (`matrix_model`, the default) and the readable
Pyomo reference (`pyomo_model`), kept equal by tests; `common` holds what both share,
and `conditioning` brings numbers of any magnitude into the range HiGHS solves
reliably (limits that can never bind dropped, the rest rescaled exactly).

Knows nothing of Excel, the solver or the reports.
"""

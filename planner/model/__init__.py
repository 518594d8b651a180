"""The formulation of SPEC §3 (models/formulation.md) built from a `Scenario`: the
direct numpy matrix handed to HiGHS (`matrix_model`, the default) and the readable
Pyomo reference (`pyomo_model`), kept equal by tests; `common` holds what both share.

Knows nothing of Excel, the solver or the reports.
"""

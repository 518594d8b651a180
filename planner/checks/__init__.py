"""What is checked without a solver: options screened out before the model
(`screening`), conflicts and warnings known before any solve (`precheck`), and the
independent recomputation of every plan against SPEC §3 (`verify`).

Imports nothing of the model or the solver, so a plan's verification can never
share a mistake with the code that found it.
"""

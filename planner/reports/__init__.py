"""What people and programs read: plans.json (`plans_json`), plans.xlsx
(`plans_xlsx`), the terminal (`terminal`, `summary`) and a run folder written whole
or not at all (`outputs`).

Built from `Plan`s and the `Scenario` alone: nothing here imports the solver.
"""

"""What people and programs read: plans.json (`plans_json`), plans.xlsx
(`plans_xlsx`), the terminal (`terminal`, `summary`) and a run folder written whole
or not at all (`outputs`); for many solves, sweep.json/.xlsx (`sweep_files`),
frontier.json/.xlsx (`frontier_files`), scenarios.xlsx and its table
(`scenarios_table`), the terminal tables of sweeps and frontiers (`whatif_tables`)
and the batch progress bar (`batch_progress`), with the pieces they share
(`whole_files`, `xlsx_tables`).

Built from `Plan`s and the `Scenario` alone: nothing here imports the solver.
"""

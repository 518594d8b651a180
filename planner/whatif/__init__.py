"""What-if: many solves of one workbook — sweeps, scenario batches, the frontier (SPEC §8).

Builds engine tasks from validated variants, drives `planner.engine`, and assembles
the documents (plain dicts, the JSON files) that `planner.reports` writes.
"""

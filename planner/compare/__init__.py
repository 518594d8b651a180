"""Compare two runs (SPEC §7): what differs between their scenarios, how their plan 1
differ, and the effect of each difference alone, by re-solving through `planner.engine`.
"""

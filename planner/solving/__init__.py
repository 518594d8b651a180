"""Finding ranked plans: HiGHS on the model (`solver`, `pyomo_solver`, with quiet
instances and one thread count from `highs_instance`), the lexicographic stages of
one rank (`stages`), the ranking itself with its no-good cuts (`ranking`), start
plans (`start_plan`, `lp_start`), a second solver racing HiGHS (`race`,
`cbc_rival`), tie-breaks on a second core (`tie_break_lane`), the reported
co-financing (`cofinancing`), and the diagnosis of infeasible scenarios
(`diagnose`). Answers are typed (`result`). Everything a solve uses belongs to its
call (`solver.SolveScope`).
"""

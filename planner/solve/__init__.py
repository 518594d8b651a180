"""Finding ranked plans: HiGHS on the model (`solver`, `pyomo_solver`), the
lexicographic stages of one rank (`stages`), the ranking itself with its no-good
cuts (`ranking`), start plans (`start_plan`, `lp_start`), a second solver racing
HiGHS (`race`, `cbc_rival`), tie-breaks on a second core (`tie_break_lane`), and
the diagnosis of infeasible scenarios (`diagnose`). Answers are typed (`result`).
"""

"""The scenario desk (SPEC §10): a web service where teams submit workbooks, watch runs
and read plans, explanations and comparisons; programs use its JSON API.

Layers inside: a run store (SQLite) and a dispatcher that runs each submission through
the engine, under a FastAPI app that renders pages with Jinja2 and serves the API.
"""

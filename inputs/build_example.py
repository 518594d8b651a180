"""Build the bundled ILLUSTRATIVE example workbook: `python inputs/build_example.py OUT.xlsx`.

The example is written from code, not edited by hand, so it is reviewable in a
diff, always valid against the current schema, and rebuilt identically (the
tests check that the committed workbook reads into the Scenario built here).

Everything in it is fictional: the home country "Norland", every firm, every
programme and every number. Market names are real countries because a strategy
team thinks in them; their addressable populations are rounded orders of
magnitude of internet users, not sourced statistics. Nothing here judges any
real country or firm.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from planner.scenario.data import (
    Coverage,
    Layer,
    Market,
    Offer,
    Option,
    Partner,
    Resource,
    Rule,
    Scenario,
    Settings,
    Usage,
    canonical_name,
)
from planner.workbook.writer import Table, scenario_tables, scenarios_table, write_tables

HOME = "Norland"
STAFF = "partnership staff (FTE)"
JD, CD, CB = "joint development", "coordinated deployment", "capacity building"

# market_id: (name, region, weight, addressable people (m), required layers)
MARKETS: dict[str, tuple[str, str, float, float, tuple[str, ...]]] = {
    "IN": ("India", "South Asia", 1.2, 750, ()),
    "BD": ("Bangladesh", "South Asia", 1.0, 70, ()),
    "KE": ("Kenya", "East Africa", 2.0, 25, ("cloud", "model")),
    "ET": ("Ethiopia", "East Africa", 1.5, 30, ("cloud", "skills")),
    "ZA": ("South Africa", "Southern Africa", 1.3, 45, ()),
    "ZM": ("Zambia", "Southern Africa", 1.5, 8, ()),
    "NG": ("Nigeria", "West Africa", 1.8, 110, ("cloud",)),
    "GH": ("Ghana", "West Africa", 1.2, 24, ()),
    "ID": ("Indonesia", "Southeast Asia", 1.8, 215, ("cloud", "model")),
    "VN": ("Vietnam", "Southeast Asia", 1.5, 80, ()),
    "BR": ("Brazil", "Latin America", 1.0, 185, ()),
    "MX": ("Mexico", "Latin America", 1.0, 105, ()),
}

# partner_id: (name, country, trust)
PARTNERS: dict[str, tuple[str, str, float]] = {
    # Domestic firms across the stack.
    "N-BOREALIS": ("Borealis Compute", HOME, 92),
    "N-FJORDCHIP": ("Fjordchip Systems", HOME, 85),
    "N-NORDVAULT": ("Nordvault Cloud", HOME, 90),
    "N-SKERRY": ("Skerry Data Centres", HOME, 80),
    "N-AURORA": ("Aurora Models", HOME, 88),
    "N-LUMEN": ("Lumen Labs", HOME, 78),
    "N-TUNDRA": ("Tundra Health AI", HOME, 83),
    "N-POLAR": ("Polar Agritech", HOME, 80),
    "N-NORTHWIND": ("Northwind Fintech", HOME, 76),
    "N-NIT": ("Norland Institute of Technology", HOME, 95),
    # Allied foreign firms.
    "F-LUMIERE": ("Lumière Open Models (open-weight model lab)", "France", 82),
    "F-RHEINWERK": ("Rheinwerk Cloud", "Germany", 80),
    "F-HOKUSEI": ("Hokusei Semiconductor", "Japan", 88),
    "F-MAPLE": ("Maple Reasoning Labs", "Canada", 84),
    "F-ALBION": ("Albion Digital Skills Trust", "United Kingdom", 86),
    "F-ZAUNI": ("Southern Africa AI Universities Consortium", "South Africa", 85),
    "F-DECCAN": ("Deccan Systems Integration", "India", 74),
    "F-SAVANNA": ("Savanna Telecom (East African operator)", "Kenya", 70),
    "F-CERRADO": ("Cerrado Cloud", "Brazil", 68),
    "F-NUSANTARA": ("Nusantara Super-App", "Indonesia", 66),
    "F-LAGOS": ("Lagos Fintech Collective", "Nigeria", 64),
    "F-SIERRA": ("Sierra Madre Telecom", "Mexico", 60),
    "F-MEKONG": ("Mekong Digital", "Vietnam", 58),
    # Screened out: below compute's min_trust 70, and below min_partner_trust 50.
    "F-STRAIT": ("Strait Compute Brokers", "Singapore", 60),
    "F-GREYHAWK": ("Greyhawk Data Holdings (opaque ownership)", "Cayman Islands", 40),
}

# option_id: (partner_id, name, layer, kind, cost USD m, staff FTE, {market: reach people (m)})
OPTIONS: dict[str, tuple[str, str, str, str, float, float, dict[str, float]]] = {
    # compute
    "CMP-01": ("N-BOREALIS", "Sovereign GPU pod, Nairobi", "compute", CD, 32, 4,
               {"KE": 3, "ET": 1}),
    "CMP-02": ("N-BOREALIS", "Inference hub, Johannesburg", "compute", CD, 28, 3,
               {"ZA": 4, "ZM": 1}),
    "CMP-03": ("N-FJORDCHIP", "Edge inference chips for telcos", "compute", JD, 18, 3,
               {"NG": 3, "GH": 1, "KE": 1}),
    "CMP-04": ("N-FJORDCHIP", "Low-power accelerators, Indonesia", "compute", JD, 22, 3,
               {"ID": 5, "VN": 2}),
    "CMP-05": ("F-HOKUSEI", "Accelerator supply, Vietnam", "compute", CD, 26, 2,
               {"VN": 4, "ID": 2}),
    "CMP-06": ("F-HOKUSEI", "Chip design co-development, India", "compute", JD, 40, 5, {"IN": 6}),
    "CMP-07": ("F-STRAIT", "Spot GPU capacity, Southeast Asia", "compute", CD, 9, 1,
               {"ID": 3, "VN": 2}),
    "CMP-08": ("F-GREYHAWK", "Discount GPU leasing", "compute", CD, 6, 1,
               {"NG": 3, "KE": 2, "IN": 4}),
    "CMP-09": ("N-BOREALIS", "Research compute, Brazil", "compute", CD, 20, 2, {"BR": 3, "MX": 1}),
    "CMP-10": ("N-FJORDCHIP", "Chip-design courses with universities", "compute", CB, 5, 1,
               {"ZA": 0.3, "ZM": 0}),
    # cloud
    "CLD-01": ("N-NORDVAULT", "Sovereign cloud region, Kenya", "cloud", CD, 30, 4,
               {"KE": 6, "ET": 2}),
    "CLD-02": ("N-NORDVAULT", "Cloud landing zone, Nigeria", "cloud", CD, 25, 3,
               {"NG": 8, "GH": 2}),
    "CLD-03": ("N-SKERRY", "Modular data centre, Zambia", "cloud", CD, 14, 2, {"ZM": 2, "ZA": 1}),
    "CLD-04": ("N-SKERRY", "Data centre partnership, Indonesia", "cloud", JD, 24, 3, {"ID": 10}),
    "CLD-05": ("F-RHEINWERK", "Trusted cloud, East Africa", "cloud", CD, 20, 2, {"KE": 5, "ET": 3}),
    "CLD-06": ("F-RHEINWERK", "Cloud credits for start-ups, Ghana", "cloud", CB, 6, 1,
               {"GH": 1.5, "NG": 0}),
    "CLD-07": ("F-CERRADO", "Latin American cloud region", "cloud", CD, 22, 2, {"BR": 12, "MX": 4}),
    "CLD-08": ("F-DECCAN", "Cloud migration for state governments", "cloud", CD, 16, 2,
               {"IN": 15, "BD": 3}),
    "CLD-09": ("F-SAVANNA", "Telco edge cloud, Kenya", "cloud", CD, 12, 2, {"KE": 4}),
    "CLD-10": ("F-CERRADO", "Cloud zone, Mexico", "cloud", CD, 14, 2, {"MX": 5}),
    "CLD-11": ("N-NORDVAULT", "Cloud region, Vietnam", "cloud", CD, 26, 3, {"VN": 7, "ID": 0}),
    # model
    "MOD-01": ("N-AURORA", "Swahili and Amharic language models", "model", JD, 18, 3,
               {"KE": 8, "ET": 6}),
    "MOD-02": ("N-AURORA", "Bahasa Indonesia open model", "model", JD, 20, 3, {"ID": 12}),
    "MOD-03": ("N-AURORA", "Model licensing, Brazil", "model", CD, 8, 1, {"BR": 6}),
    "MOD-04": ("N-LUMEN", "Health triage model, South Asia", "model", JD, 12, 2,
               {"IN": 8, "BD": 3}),
    "MOD-05": ("N-LUMEN", "Agritech advisory model", "model", JD, 10, 2,
               {"KE": 3, "NG": 4, "GH": 2}),
    "MOD-06": ("F-LUMIERE", "Open-weight model co-investment", "model", JD, 24, 3,
               {"KE": 5, "NG": 6, "ZA": 4, "ID": 0}),
    "MOD-07": ("F-LUMIERE", "Multilingual West Africa model", "model", JD, 14, 2,
               {"NG": 5, "GH": 3}),
    "MOD-08": ("F-MAPLE", "Reasoning model, East Africa exclusive", "model", JD, 22, 3,
               {"KE": 9, "ET": 4}),
    "MOD-09": ("F-MAPLE", "Speech models for Indian languages", "model", JD, 16, 2,
               {"IN": 14, "BD": 4}),
    "MOD-10": ("F-DECCAN", "Fine-tuning services, India", "model", CD, 8, 1, {"IN": 5}),
    "MOD-11": ("N-AURORA", "Vietnamese model adaptation", "model", JD, 10, 2, {"VN": 5}),
    "MOD-12": ("F-ZAUNI", "African-language models and benchmarks", "model", JD, 9, 2,
               {"ZA": 3, "ZM": 2}),
    # application
    "APP-01": ("N-TUNDRA", "Telemedicine triage, Kenya", "application", CD, 10, 2, {"KE": 4}),
    "APP-02": ("N-TUNDRA", "Maternal health assistant, Ethiopia", "application", CD, 9, 2,
               {"ET": 5}),
    "APP-03": ("N-TUNDRA", "Clinic copilot, India", "application", CD, 14, 2, {"IN": 10}),
    "APP-04": ("N-POLAR", "Crop advisory, Zambia", "application", CD, 6, 1, {"ZM": 2.5}),
    "APP-05": ("N-POLAR", "Crop advisory, Nigeria and Ghana", "application", CD, 11, 2,
               {"NG": 6, "GH": 3}),
    "APP-06": ("N-POLAR", "Smallholder insurance, Bangladesh", "application", CD, 8, 1, {"BD": 5}),
    "APP-07": ("N-NORTHWIND", "SME credit scoring, Kenya", "application", CD, 7, 1, {"KE": 3}),
    "APP-08": ("N-NORTHWIND", "Mobile-money fraud detection", "application", JD, 12, 2,
               {"NG": 7, "GH": 2}),
    "APP-09": ("F-NUSANTARA", "AI assistant in the super-app", "application", JD, 16, 2,
               {"ID": 25}),
    "APP-10": ("F-NUSANTARA", "Merchant tools, Vietnam", "application", CD, 10, 1, {"VN": 6}),
    "APP-11": ("F-LAGOS", "Fintech copilots, Nigeria", "application", JD, 9, 1, {"NG": 8}),
    "APP-12": ("F-SAVANNA", "Farmer SMS advisory", "application", CD, 5, 1, {"KE": 5, "ET": 2}),
    "APP-13": ("F-MEKONG", "Public-service chatbot, Vietnam", "application", CD, 7, 1, {"VN": 6}),
    "APP-14": ("F-SIERRA", "Telco customer assistant, Mexico", "application", CD, 8, 1, {"MX": 9}),
    "APP-15": ("N-NORTHWIND", "Open-banking assistant, Brazil", "application", CD, 12, 2,
               {"BR": 10}),
    "APP-16": ("F-DECCAN", "Government service assistant, India", "application", CD, 15, 2,
               {"IN": 20}),
    "APP-17": ("N-TUNDRA", "Health-records AI, South Africa", "application", CD, 11, 2, {"ZA": 5}),
    "APP-18": ("F-GREYHAWK", "White-label chatbot, Southeast Asia", "application", CD, 5, 1,
               {"ID": 8, "VN": 4}),
    # skills
    "SKL-01": ("N-NIT", "AI engineering fellowships, East Africa", "skills", CB, 5, 1,
               {"KE": 0.5, "ET": 0.3}),
    "SKL-02": ("N-NIT", "Teacher AI literacy, Zambia", "skills", CB, 3, 1, {"ZM": 0.8}),
    "SKL-03": ("F-ZAUNI", "Southern Africa AI graduate school", "skills", CB, 8, 1,
               {"ZA": 1.5, "ZM": 0.7}),
    "SKL-04": ("F-ALBION", "Digital skills bootcamps, West Africa", "skills", CB, 6, 1,
               {"NG": 1.5, "GH": 0.8}),
    "SKL-05": ("F-ALBION", "Civil-service AI training, Kenya", "skills", CB, 4, 1, {"KE": 0.6}),
    "SKL-06": ("F-DECCAN", "AI skilling academies, India and Bangladesh", "skills", CB, 7, 1,
               {"IN": 3, "BD": 1}),
    "SKL-07": ("N-NIT", "Data-centre technician programme", "skills", CB, 4, 1,
               {"ID": 0.5, "VN": 0}),
    "SKL-08": ("F-SAVANNA", "Telecom AI apprenticeships", "skills", CB, 3, 1,
               {"KE": 0.4, "ET": 0.2}),
    "SKL-09": ("F-CERRADO", "Cloud skills, Brazil and Mexico", "skills", CB, 4, 1,
               {"BR": 0.8, "MX": 0.5}),
    "SKL-10": ("F-ZAUNI", "Regulator training, Southern Africa", "skills", CB, 2, 1,
               {"ZA": 0.2, "ZM": 0.2}),
}  # fmt: skip

LAYERS = (
    Layer("application"),
    Layer("cloud", min_trust=60),
    Layer("compute", min_trust=70),
    Layer("model", min_trust=65, max_foreign_share=0.6),
    Layer("skills"),
)


def _names(*names: str) -> tuple[str, ...]:
    """Offer lists as the validated scenario holds them: canonical and sorted."""
    return tuple(sorted({canonical_name(n) for n in names}))


OFFERS = (
    Offer(
        "C-AI4D-SA",
        "AI for Development, Southern Africa (multi-donor programme)",
        share=0.5,
        cap=8,
        fee=0.5,
        regions=_names("Southern Africa"),
        kinds=_names(CB),
    ),
    Offer(
        "C-EA-DEPLOY",
        "Development cooperation: East Africa digital deployments",
        share=0.4,
        cap=15,
        fee=1,
        min_eligible_spend=30,
        regions=_names("East Africa"),
        kinds=_names(CD),
    ),
    Offer(
        "C-EU-OPENWEIGHT",
        "European co-investment in open-weight models",
        share=0.5,
        cap=12,
        fee=2,
        kinds=_names(JD),
        layers=_names("model"),
    ),
    Offer(
        "C-INDOPACIFIC",
        "Indo-Pacific digital infrastructure facility",
        share=0.3,
        cap=10,
        fee=1,
        min_eligible_spend=20,
        regions=_names("South Asia", "Southeast Asia"),
        layers=_names("cloud", "compute"),
    ),
)

RULES = (
    Rule("requires", "APP-01", "CLD-01"),  # telemedicine runs on the sovereign Kenyan region
    Rule("requires", "APP-09", "CLD-04"),  # the super-app assistant needs the Indonesian DC
    Rule("requires", "APP-05", "MOD-05"),  # crop advisory is built on the agritech model
    Rule("excludes", "MOD-06", "MOD-08"),  # rival labs each ask for East African exclusivity
)

SETTINGS = Settings(
    budget=120,
    home_country=HOME,
    currency="USD m",
    reach_unit="people (m)",
    min_partner_trust=50,
    min_average_trust=70,
    max_foreign_share=0.6,
    max_country_share=0.3,
    plans=5,
    time_limit_s=60,
)

SCENARIOS: dict[str, dict[str, object]] = {
    "tight_trust": {"min_partner_trust": 70, "min_average_trust": 80},
    "high_budget": {"budget": 200},
    "low_budget": {"budget": 60},
    "home_first": {"max_foreign_share": 0.35, "max_country_share": 0.15},
    "no_trust_limits": {"min_partner_trust": None, "min_average_trust": None},
}

ABOUT: tuple[tuple[str, str], ...] = (
    ("status", "ILLUSTRATIVE EXAMPLE: every firm, programme, score and amount is fictional."),
    (
        "setting",
        f"An organisation in the fictional country {HOME} plans AI-stack partnerships abroad. "
        "Market names are real countries; their addressable populations are rounded orders of "
        "magnitude of internet users, not sourced statistics. Trust scores are invented and "
        "say nothing about any real country or firm.",
    ),
    ("money", "USD m (millions of US dollars): costs, budget, co-financing caps and fees."),
    ("reach", "people (m): people reached by a partnership in a market."),
    ("trust", "0–100, the organisation's own score for each partner."),
    (
        "markets",
        "12 markets in 6 regions; contested markets weigh 1.5–2. Kenya and Indonesia count "
        "reach only once cloud and model are both supplied there, Ethiopia once cloud and "
        "skills are, Nigeria once cloud is.",
    ),
    (
        "partners",
        "10 domestic firms and 15 allied foreign ones. Strait Compute Brokers (trust 60) is "
        "screened out of compute (min_trust 70); Greyhawk Data Holdings (trust 40) is screened "
        "out by min_partner_trust 50, although its cheap chatbot would add reach.",
    ),
    (
        "co-financing",
        "Four offers modelled on allied programmes: multi-donor capacity building in "
        "Southern Africa, East African deployments (needs 30 of eligible spend), a European "
        "co-investment in open-weight models, an Indo-Pacific infrastructure facility.",
    ),
    ("staff", "30 FTE of partnership staff; each option's need is on the Usage sheet."),
    (
        "rules",
        "Two applications require their cloud, one its model; Lumière and Maple each ask "
        "for East African exclusivity, so their options there exclude each other.",
    ),
    (
        "scenario base",
        "The Settings sheet: budget 120, foreign share ≤ 60%, any one country ≤ 30%.",
    ),
    ("scenario tight_trust", "Partners need trust 70 and the portfolio averages at least 80."),
    ("scenario high_budget", "Budget 200: what more money buys."),
    ("scenario low_budget", "Budget 60: what survives a cut."),
    (
        "scenario home_first",
        "Foreign partners at most 35% of gross spend, any one foreign country at most 15%. "
        "Scenarios override settings only, so a tighter cap on foreign models alone would be "
        "an edit of the Layers sheet (model max_foreign_share), not a scenario.",
    ),
    (
        "scenario no_trust_limits",
        "What the trust limits cost: min_partner_trust and min_average_trust reset to their "
        "defaults (blank values: 0 and off); only the per-layer floors of the Layers sheet remain.",
    ),
    ("rebuild", "python inputs/build_example.py inputs/example.xlsx"),
)


def build_example() -> Scenario:
    """The base scenario, sorted and canonical exactly as reading the workbook yields it,
    so a test can compare the two with `==`."""
    markets = tuple(
        Market(mid, name, region, float(weight), float(addressable), tuple(sorted(required)))
        for mid, (name, region, weight, addressable, required) in sorted(MARKETS.items())
    )
    partners = tuple(
        Partner(pid, name, country, float(trust))
        for pid, (name, country, trust) in sorted(PARTNERS.items())
    )
    options = tuple(
        Option(oid, pid, name, layer, kind, float(cost))
        for oid, (pid, name, layer, kind, cost, _, _) in sorted(OPTIONS.items())
    )
    coverage = tuple(
        Coverage(oid, mid, float(reach))
        for oid, row in sorted(OPTIONS.items())
        for mid, reach in sorted(row[6].items())
    )
    usage = tuple(
        Usage(oid, STAFF, float(row[5])) for oid, row in sorted(OPTIONS.items()) if row[5]
    )
    return Scenario(
        name="base",
        settings=SETTINGS,
        markets=markets,
        partners=partners,
        options=options,
        coverage=coverage,
        layers=tuple(sorted(LAYERS, key=lambda layer: layer.layer)),
        offers=tuple(sorted(OFFERS, key=lambda c: c.offer_id)),
        resources=(Resource(STAFF, 30),),
        usage=usage,
        rules=tuple(sorted(RULES, key=lambda r: (r.rule, r.option_id, r.other_option_id))),
    )


def example_tables(
    scenario: Scenario, scenarios: Mapping[str, Mapping[str, object]]
) -> dict[str, Table]:
    """All sheets of the workbook, About first so it is what opens; one dict so that the
    whole file is written in one atomic call."""
    tables: dict[str, Table] = {"About": (["topic", "note"], [list(row) for row in ABOUT])}
    tables.update(scenario_tables(scenario))
    tables["Scenarios"] = scenarios_table(scenarios)
    return tables


def write_example(path: str | Path) -> Scenario:
    """Write the example workbook; returns the scenario written."""
    scenario = build_example()
    write_tables(path, example_tables(scenario, SCENARIOS))
    return scenario


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python inputs/build_example.py OUT.xlsx", file=sys.stderr)
        return 2
    s = write_example(argv[0])
    print(
        f"wrote {argv[0]}: {len(s.markets)} markets, {len(s.partners)} partners, "
        f"{len(s.options)} options, {len(s.offers)} offers, {len(SCENARIOS)} scenarios"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

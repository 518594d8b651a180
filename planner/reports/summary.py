"""The short text summary `planner validate` prints: what the scenario holds."""

from __future__ import annotations

from collections import Counter
from typing import Any

from planner.checks.precheck import Precheck
from planner.scenario.data import Scenario


def _counts(counter: Counter[str] | Counter[Any]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))


def summarize(scenario: Scenario, precheck: Precheck, source: str) -> str:
    """A dozen lines a planner can check at a glance before solving."""
    s = scenario
    st = s.settings
    partners = {p.partner_id: p for p in s.partners}
    foreign = [p for p in s.partners if s.is_foreign(p)]
    countries = Counter(p.country for p in foreign)
    must = sum(o.decision == "must" for o in s.options)
    never = sum(o.decision == "never" for o in s.options)
    foreign_options = sum(s.is_foreign(partners[o.partner_id]) for o in s.options)
    lines = [
        f"Scenario {s.name} of {source}",
        f"  budget {st.budget:g} {st.currency}; home country {st.home_country}; "
        f"{st.plans} plan(s), each differing by at least {st.min_plan_difference} option(s)",
        f"  Markets   {len(s.markets)} in {len({m.region for m in s.markets})} regions "
        f"({_counts(Counter(m.region for m in s.markets))})",
        f"  Partners  {len(s.partners)}: {len(s.partners) - len(foreign)} domestic, "
        f"{len(foreign)} foreign" + (f" ({_counts(countries)})" if countries else ""),
        f"  Options   {len(s.options)} ({_counts(Counter(o.layer for o in s.options))}); "
        f"{foreign_options} with foreign partners; {must} must, {never} never",
        f"  Coverage  {len(s.coverage)} rows",
        f"  Offers    {len(s.offers)}"
        + (f" ({', '.join(c.offer_id for c in s.offers)})" if 0 < len(s.offers) <= 8 else ""),
    ]
    if s.resources:
        lines.append(
            "  Resources "
            + ", ".join(f"{r.resource} (capacity {r.capacity:g})" for r in s.resources)
        )
    if s.rules:
        kinds = Counter(r.rule for r in s.rules)
        lines.append(f"  Rules     {len(s.rules)} ({_counts(kinds)})")
    lines.append(f"  Screened  {len(precheck.screened)} option(s) before solving")
    for item in precheck.screened[:20]:
        lines.append(f"    {item.option_id}: {item.reason}")
    if len(precheck.screened) > 20:
        lines.append(f"    ... and {len(precheck.screened) - 20} more")
    if precheck.screened_offers:
        lines.append(f"  Screened  {len(precheck.screened_offers)} offer(s) before solving")
        lines.extend(f"    {c.offer_id}: {c.reason}" for c in precheck.screened_offers)
    if precheck.warnings:
        lines.append(f"Warnings ({len(precheck.warnings)}):")
        lines.extend(f"  - {w}" for w in precheck.warnings)
    return "\n".join(lines)

"""Options and offers decided before any solve (SPEC §3 rule 9 and `never`).

Screening is part of the scenario's meaning, not of the solver: the validation
summary lists screened options and offers, reports list them with their reason,
and the model simply fixes them out. Keeping it in one place keeps those three
in step. Both depend on the scenario alone, so a report can screen again
rather than be handed the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.scenario.data import Scenario


@dataclass(frozen=True, slots=True)
class Screened:
    """An option no plan can contain, decided from the data alone."""

    option_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ScreenedOffer:
    """A co-financing offer no plan can take (today only `never`)."""

    offer_id: str
    reason: str


def screen_options(scenario: Scenario) -> list[Screened]:
    """Options that can never be chosen, with the reason, in option-id order.

    An option screened by trust *and* marked `must` is listed here too; the
    contradiction is reported as infeasibility by `planner.checks.precheck`.
    """
    partners = scenario.partner_of()
    layers = scenario.layer_limits()
    floor = scenario.settings.min_partner_trust
    out: list[Screened] = []
    for option in scenario.options:
        partner = partners[option.partner_id]
        layer_floor = layers[option.layer].min_trust
        reasons = []
        if partner.trust < floor:
            reasons.append(
                f"partner {partner.partner_id} trust {partner.trust:g} is below "
                f"min_partner_trust {floor:g}"
            )
        if partner.trust < layer_floor:
            reasons.append(
                f"partner {partner.partner_id} trust {partner.trust:g} is below "
                f"the {option.layer} layer's min_trust {layer_floor:g}"
            )
        if option.decision == "never":
            reasons.append("decision is never")
        if reasons:
            out.append(Screened(option.option_id, "; ".join(reasons)))
    return out


def screen_offers(scenario: Scenario) -> list[ScreenedOffer]:
    """Offers that can never be taken, with the reason, in offer-id order.

    Only `decision = never` screens an offer. An offer no option is eligible for
    can still be taken (for nothing, paying its fee): that is a pre-solve warning,
    not screening.
    """
    return [
        ScreenedOffer(c.offer_id, "decision is never")
        for c in sorted(scenario.offers, key=lambda c: c.offer_id)
        if c.decision == "never"
    ]

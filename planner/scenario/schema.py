"""The scenario workbook's schema (SPEC §2), written once, as data.

Reading, validation messages, the blank template (with its Instructions
sheet) and the README's input table are all generated from these tables, so a
column added here appears everywhere at once and nowhere by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a cell is read and what the messages call the expected value."""

    ID = "id"
    TEXT = "text"
    NAME = "name"
    """A category name (layer, kind, region, country): compared case-insensitively."""
    NUMBER = "number"
    INTEGER = "integer"
    LIST = "list"
    """`;`-separated category names, or `*` for all."""
    DECISION = "decision"
    RULE = "rule"


DECISIONS = ("must", "never")
RULES = ("requires", "excludes")


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind
    meaning: str
    required: bool = False
    default: object = None
    lo: float | None = None
    hi: float | None = None
    lo_strict: bool = False
    unit: str = ""
    refers_to: str | None = None
    """`Sheet.column` whose values this column must be one of."""
    default_from: str | None = None
    """Blank takes the value of this column of the same row (name defaults to the id)."""
    default_label: str | None = None
    """How the default is shown when the value itself would not say it (`*` = all)."""

    def expected(self) -> str:
        """What a valid cell looks like, in the words an error message uses."""
        words = {
            Kind.ID: "an identifier (text or whole number)",
            Kind.TEXT: "text",
            Kind.NAME: "a name",
            Kind.NUMBER: "a number",
            Kind.INTEGER: "a whole number",
            Kind.LIST: "a ;-separated list of names, or *",
            Kind.DECISION: "blank, must or never",
            Kind.RULE: "requires or excludes",
        }[self.kind]
        return words + describe_range(self.lo, self.hi, self.lo_strict)

    def default_text(self) -> str:
        if self.required:
            return "required"
        if self.default_from is not None:
            return f"same as {self.default_from}"
        if self.default_label is not None:
            return self.default_label
        if self.default is None:
            return "blank"
        return format_default(self.default)


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    required: bool
    meaning: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    """Columns whose values together must be unique."""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def describe_range(lo: float | None, hi: float | None, lo_strict: bool = False) -> str:
    if lo is not None and hi is not None:
        if lo_strict:
            return f" greater than {lo:g} and at most {hi:g}"
        return f" from {lo:g} to {hi:g}"
    if lo is not None:
        return f" greater than {lo:g}" if lo_strict else f" of at least {lo:g}"
    if hi is not None:
        return f" of at most {hi:g}"
    return ""


def format_default(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


#: The largest market weight and addressable reach accepted. Weighted reach is a sum of
#: weight x reach over markets: with both factors at most 1e150 every product stays below
#: 1e300 and the sum over any workbook's markets stays a finite double (at most about
#: 1.8e308); larger factors could make the reach ceiling, and a plan's weighted reach,
#: infinite, which neither the model nor plans.json can hold. Every other number may be
#: as large as a double allows: the model scales it (`planner.model.conditioning`).
LARGEST_FACTOR = 1e150

MONEY = "budget units"
REACH = "reach units"
TRUST = "trust score"
FRACTION = "fraction"

SETTINGS_SHEET = Sheet(
    name="Settings",
    required=True,
    meaning="One row per setting: the limits and options of the base scenario.",
    columns=(
        Column("setting", Kind.TEXT, "name of the setting (see the settings table)", True),
        Column("value", Kind.TEXT, "its value; blank takes the default", False),
    ),
    key=("setting",),
)

# Settings are rows, not columns, but they are described the same way.
SETTINGS: tuple[Column, ...] = (
    Column("budget", Kind.NUMBER, "limit on own net spend", True, lo=0, unit=MONEY),
    Column("home_country", Kind.NAME, "partners from any other country are foreign", True),
    Column("currency", Kind.TEXT, "label for money columns in reports", default="USD m"),
    Column("reach_unit", Kind.TEXT, "label for reach columns in reports", default="people (m)"),
    Column(
        "min_partner_trust",
        Kind.NUMBER,
        "partners below it are screened out",
        default=0.0,
        lo=0,
        hi=100,
        unit=TRUST,
    ),
    Column(
        "min_average_trust",
        Kind.NUMBER,
        "spend-weighted average partner trust floor; blank turns it off",
        default=None,
        lo=0,
        hi=100,
        unit=TRUST,
    ),
    Column(
        "max_foreign_share",
        Kind.NUMBER,
        "cap on foreign partners' share of gross spend",
        default=1.0,
        lo=0,
        hi=1,
        unit=FRACTION,
    ),
    Column(
        "max_country_share",
        Kind.NUMBER,
        "cap on any single foreign country's share of gross spend",
        default=1.0,
        lo=0,
        hi=1,
        unit=FRACTION,
    ),
    Column(
        "max_cofinance_share",
        Kind.NUMBER,
        "most of one partnership's cost that co-financing may cover",
        default=0.8,
        lo=0,
        hi=1,
        unit=FRACTION,
    ),
    Column("plans", Kind.INTEGER, "how many ranked plans to return", default=5, lo=1),
    Column(
        "min_plan_difference",
        Kind.INTEGER,
        "each later plan leaves out at least this many options of every earlier plan",
        default=1,
        lo=1,
    ),
    Column(
        "time_limit_s",
        Kind.NUMBER,
        "wall-clock limit for the whole run",
        default=60.0,
        lo=0,
        lo_strict=True,
        unit="seconds",
    ),
    Column(
        "mip_gap",
        Kind.NUMBER,
        "relative gap at which one solve may stop",
        default=0.0,
        lo=0,
        unit=FRACTION,
    ),
    Column(
        "explain_time_s",
        Kind.NUMBER,
        "wall-clock limit for the explanations of plan 1, after the plans are found",
        default=60.0,
        lo=0,
        lo_strict=True,
        unit="seconds",
    ),
)

SHEETS: tuple[Sheet, ...] = (
    SETTINGS_SHEET,
    Sheet(
        name="Markets",
        required=True,
        meaning="One row per market abroad.",
        columns=(
            Column("market_id", Kind.ID, "unique id of the market", True),
            Column("name", Kind.TEXT, "display name", default_from="market_id"),
            Column("region", Kind.NAME, "region, used by co-financing eligibility", True),
            Column(
                "weight",
                Kind.NUMBER,
                "strategic priority (contested markets weigh more)",
                default=1.0,
                lo=0,
                hi=LARGEST_FACTOR,
            ),
            Column(
                "addressable",
                Kind.NUMBER,
                "most reach possible in this market",
                True,
                lo=0,
                hi=LARGEST_FACTOR,
                lo_strict=True,
                unit=REACH,
            ),
            Column(
                "required_layers",
                Kind.LIST,
                "stack layers that must all be supplied here before any reach counts; * = all",
                default=(),
                default_label="blank (none)",
            ),
        ),
        key=("market_id",),
    ),
    Sheet(
        name="Partners",
        required=True,
        meaning="One row per domestic or foreign partner firm.",
        columns=(
            Column("partner_id", Kind.ID, "unique id of the partner", True),
            Column("name", Kind.TEXT, "display name", default_from="partner_id"),
            Column("country", Kind.NAME, "country; any other than home_country is foreign", True),
            Column(
                "trust",
                Kind.NUMBER,
                "the organisation's trust score",
                True,
                lo=0,
                hi=100,
                unit=TRUST,
            ),
        ),
        key=("partner_id",),
    ),
    Sheet(
        name="Options",
        required=True,
        meaning="One row per candidate partnership.",
        columns=(
            Column("option_id", Kind.ID, "unique id of the partnership", True),
            Column(
                "partner_id",
                Kind.ID,
                "the partner",
                True,
                refers_to="Partners.partner_id",
            ),
            Column("name", Kind.TEXT, "display name", default_from="option_id"),
            Column(
                "layer",
                Kind.NAME,
                "stack layer supplied (compute, cloud, model, application, skills …)",
                True,
            ),
            Column(
                "kind",
                Kind.NAME,
                "e.g. joint development, coordinated deployment, capacity building",
                default=None,
            ),
            Column("cost", Kind.NUMBER, "gross cost", True, lo=0, unit=MONEY),
            Column("decision", Kind.DECISION, "force in (must) or out (never)", default=None),
        ),
        key=("option_id",),
    ),
    Sheet(
        name="Coverage",
        required=True,
        meaning="Which partnership operates in which market, and the reach it adds there.",
        columns=(
            Column("option_id", Kind.ID, "the partnership", True, refers_to="Options.option_id"),
            Column("market_id", Kind.ID, "the market", True, refers_to="Markets.market_id"),
            Column(
                "reach",
                Kind.NUMBER,
                "reach added in the market; 0 still means the option operates there",
                default=0.0,
                lo=0,
                unit=REACH,
            ),
        ),
        key=("option_id", "market_id"),
    ),
    Sheet(
        name="Layers",
        required=False,
        meaning="Optional per-layer limits; when present, every layer used must be listed.",
        columns=(
            Column("layer", Kind.NAME, "stack layer", True),
            Column(
                "min_trust",
                Kind.NUMBER,
                "partners below it cannot supply this layer",
                default=0.0,
                lo=0,
                hi=100,
                unit=TRUST,
            ),
            Column(
                "max_foreign_share",
                Kind.NUMBER,
                "cap on foreign partners' share of this layer's gross spend",
                default=1.0,
                lo=0,
                hi=1,
                unit=FRACTION,
            ),
        ),
        key=("layer",),
    ),
    Sheet(
        name="CoFinancing",
        required=False,
        meaning="Optional co-financing offers from allied programmes.",
        columns=(
            Column("offer_id", Kind.ID, "unique id of the offer", True),
            Column("financier", Kind.TEXT, "programme or financier", default_from="offer_id"),
            Column(
                "share",
                Kind.NUMBER,
                "most of an eligible option's cost this offer pays",
                True,
                lo=0,
                hi=1,
                lo_strict=True,
                unit=FRACTION,
            ),
            Column("cap", Kind.NUMBER, "most this offer pays in total", True, lo=0, unit=MONEY),
            Column(
                "fee",
                Kind.NUMBER,
                "own cost of taking the offer up (commitment, matching pledge)",
                default=0.0,
                lo=0,
                unit=MONEY,
            ),
            Column(
                "min_eligible_spend",
                Kind.NUMBER,
                "gross spend on eligible options required to take the offer up",
                default=0.0,
                lo=0,
                unit=MONEY,
            ),
            Column(
                "regions", Kind.LIST, default_label="*", meaning="eligible regions, or * for all"
            ),
            Column(
                "kinds", Kind.LIST, default_label="*", meaning="eligible option kinds, or * for all"
            ),
            Column("layers", Kind.LIST, default_label="*", meaning="eligible layers, or * for all"),
            Column("decision", Kind.DECISION, "force taking it (must) or not (never)"),
        ),
        key=("offer_id",),
    ),
    Sheet(
        name="Resources",
        required=False,
        meaning="Optional further limits (staff, legal reviews …).",
        columns=(
            Column("resource", Kind.ID, "unique name of the resource", True),
            Column("capacity", Kind.NUMBER, "amount available", True, lo=0),
        ),
        key=("resource",),
    ),
    Sheet(
        name="Usage",
        required=False,
        meaning="How much of each resource a partnership uses.",
        columns=(
            Column("option_id", Kind.ID, "the partnership", True, refers_to="Options.option_id"),
            Column("resource", Kind.ID, "the resource", True, refers_to="Resources.resource"),
            Column("amount", Kind.NUMBER, "amount used if pursued", True, lo=0),
        ),
        key=("option_id", "resource"),
    ),
    Sheet(
        name="Rules",
        required=False,
        meaning="Optional logical rules: A requires B (A only if B), A excludes B (not both).",
        columns=(
            Column("rule", Kind.RULE, "requires or excludes", True),
            Column("option_id", Kind.ID, "option A", True, refers_to="Options.option_id"),
            Column("other_option_id", Kind.ID, "option B", True, refers_to="Options.option_id"),
        ),
    ),
    Sheet(
        name="Scenarios",
        required=False,
        meaning=(
            "Optional named scenarios: overrides of Settings, and changes to single cells of "
            "the other sheets; a blank value resets to the default."
        ),
        columns=(
            Column("scenario", Kind.TEXT, "scenario name (not base)", True),
            Column(
                "setting",
                Kind.TEXT,
                "setting to override, or a cell of another sheet to change, named "
                "Sheet[key].column: Options[APP-02].cost, Layers[model].max_foreign_share, "
                "Coverage[APP-02,KE].reach (Coverage and Usage take both ids)",
                True,
            ),
            Column(
                "value",
                Kind.TEXT,
                "new value, checked like the setting or cell it replaces; blank resets to "
                "the default",
                default=None,
            ),
        ),
        key=("scenario", "setting"),
    ),
)


def canonical_header(text: str) -> str:
    """SPEC §2: headers, sheet and setting names match ignoring case and surrounding spaces,
    with spaces and underscores alike.

    Separators are dropped altogether, not only made alike, so that `Co Financing`
    finds the CoFinancing sheet as `Option ID` finds option_id; no two names of the
    schema differ only by separators, so nothing becomes ambiguous.
    """
    return "".join(text.replace("_", " ").split()).casefold()


SHEET_BY_KEY: dict[str, Sheet] = {canonical_header(s.name): s for s in SHEETS}
SETTING_BY_KEY: dict[str, Column] = {canonical_header(s.name): s for s in SETTINGS}


def schema_markdown() -> str:
    """The README's input tables, generated so they cannot drift from the reader."""
    lines: list[str] = []
    lines.append("#### Settings (sheet `Settings`, columns `setting`, `value`)")
    lines.append("")
    lines.append("| setting | expected | default | meaning |")
    lines.append("|---|---|---|---|")
    for s in SETTINGS:
        meaning = s.meaning + (f" ({s.unit})" if s.unit else "")
        lines.append(f"| `{s.name}` | {s.expected()} | {s.default_text()} | {meaning} |")
    for sheet in SHEETS[1:]:
        lines.append("")
        need = "required" if sheet.required else "optional"
        lines.append(f"#### {sheet.name} ({need})")
        lines.append("")
        lines.append(sheet.meaning)
        lines.append("")
        lines.append("| column | expected | default | meaning |")
        lines.append("|---|---|---|---|")
        for c in sheet.columns:
            meaning = c.meaning + (f" ({c.unit})" if c.unit else "")
            if c.refers_to:
                meaning += f"; must exist in {c.refers_to.replace('.', ' ')}"
            lines.append(f"| `{c.name}` | {c.expected()} | {c.default_text()} | {meaning} |")
    return "\n".join(lines) + "\n"

"""The README's input tables are the schema's, generated: they cannot drift from the reader."""

from __future__ import annotations

from pathlib import Path

from planner.scenario.schema import SETTINGS, SHEETS, schema_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- schema:start -->", "<!-- schema:end -->"


def _between_markers() -> str:
    text = README.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1
    _, rest = text.split(START)
    inside, _ = rest.split(END)
    return inside


def test_readme_holds_exactly_the_generated_schema() -> None:
    inside = _between_markers()
    assert inside.strip("\n") == schema_markdown().strip("\n")


def test_generated_schema_names_every_sheet_column_and_setting() -> None:
    markdown = schema_markdown()
    for spec in SETTINGS:
        assert f"| `{spec.name}` |" in markdown
    for sheet in SHEETS[1:]:
        assert f"#### {sheet.name} (" in markdown
        for col in sheet.columns:
            assert f"| `{col.name}` |" in markdown

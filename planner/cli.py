"""The `planner` command line: thin wiring from arguments to plain function calls.

Every user mistake becomes a located message and exit status 2; an internal
error becomes one line naming the log file that holds the details, exit 1.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from planner.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NO_PLAN = 0, 1, 2, 3, 4


def _log_internal_error() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = Path(tempfile.gettempdir()) / f"planner-error-{stamp}.log"
    log.write_text(traceback.format_exc(), encoding="utf-8")
    return log


def _guarded(func: Callable[..., int | None]) -> Callable[..., None]:
    """Translate the outcome of a command into the exit statuses of SPEC §5."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            code = func(*args, **kwargs) or EXIT_OK
        except InputError as exc:
            click.echo(f"Input errors ({len(exc.problems)}), nothing was written:", err=True)
            click.echo(exc.report(), err=True)
            code = EXIT_INPUT
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted; nothing was written.", err=True)
            code = 130
        except Exception as exc:
            log = _log_internal_error()
            click.echo(f"Internal error: {type(exc).__name__}: {exc} (details in {log})", err=True)
            code = EXIT_INTERNAL
        sys.exit(code)

    return wrapper


scenario_option = click.option(
    "--scenario", "scenario", metavar="NAME", help="A scenario of the Scenarios sheet."
)
set_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="SETTING=VALUE",
    help="Override a setting after the scenario's overrides (repeatable).",
)
workbook_argument = click.argument("workbook", type=click.Path(dir_okay=False, path_type=Path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="partnership-planner")
def cli() -> None:
    """Plan strategic partnerships and co-financing with mixed-integer optimization."""


@cli.command()
@workbook_argument
@scenario_option
@set_option
@_guarded
def validate(workbook: Path, scenario: str | None, sets: tuple[str, ...]) -> int:
    """Check a scenario workbook and summarise it; exit 2 on bad input, 3 if infeasible.

    Example: planner validate inputs/example.xlsx --scenario high_budget
    """
    from planner.precheck import check_before_solve
    from planner.summary import summarize
    from planner.validation import load_scenario, parse_set_options

    loaded = load_scenario(workbook, scenario, parse_set_options(sets))
    found = check_before_solve(loaded)
    click.echo(summarize(loaded, found, workbook.name))
    if found.conflicts:
        click.echo(f"Infeasible before solving ({len(found.conflicts)}):", err=True)
        for conflict in found.conflicts:
            click.echo(f"  - {conflict}", err=True)
        return EXIT_INFEASIBLE
    click.echo("Valid.")
    return EXIT_OK


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@_guarded
def template(path: Path) -> int:
    """Write a blank scenario workbook with instructions and dropdowns.

    Example: planner template my-scenario.xlsx
    """
    from planner.template import write_template

    write_template(path)
    click.echo(f"Wrote {path}")
    return EXIT_OK


def main() -> None:
    cli()

"""The command group that turns CliError, bad usage and Ctrl-C into exit codes."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from .console import err
from .errors import CliError, ExitCode

_CLICK_USAGE = 2
"""Click's exit code for usage errors; ``publish --wait`` needs 2 for a rejected dataset."""


def _as_usage(error: typer.TyperException) -> typer.TyperException:
    if error.exit_code == _CLICK_USAGE:
        error.exit_code = ExitCode.USAGE
    return error


class MillraceGroup(TyperGroup):
    """Every command runs inside ``invoke``: one place to report errors the same way.

    Contexts are typed ``Any``: typer vendors its own click, whose types it does not export.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except typer.TyperException as error:
            raise _as_usage(error) from None

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as error:
            raise _as_usage(error) from None
        except CliError as error:
            err.print("[red]error:[/]", end=" ")
            err.print(error.message, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(int(error.code)) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

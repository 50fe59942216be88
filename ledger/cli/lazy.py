"""The top-level ``cunshe`` group, quick to start: a workflow's commands are imported only when one runs.

``cunshe --help`` (and every command defined in ``ledger.cli.main``) must not pay for importing the
workflows' command modules, their models and services (~0.7 s on a 2-core machine). ``LazyGroup`` lists
each lazy command from a table of (module, attribute, one-line help) and imports the module when the
command is resolved to be run (or asked for its own ``--help``). ``tests/cli/test_cli_startup.py`` checks that
every table entry's help is the loaded command's own first line, so the two cannot drift apart.

It also tidies typer's help: a flag takes no value, so it shows no ``<bool>``; and a description wraps
(``fold``) instead of ending in "…" where rich mis-measures a line mixing Chinese and Latin text.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import import_module
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

#: which of typer's parts this process has patched already ("help", "fold"): each patch is applied once
_PATCHED: set[str] = set()


@dataclass(frozen=True)
class Lazy:
    """A command (a typer app, or a function) at ``module:attribute``, listed under ``help``."""

    target: str
    help: str

    def load(self, name: str) -> Any:
        module, _, attribute = self.target.partition(":")
        obj = getattr(import_module(module), attribute)
        if isinstance(obj, typer.Typer):
            group = typer.main.get_group(obj)
            group.name = name
            return group
        single = typer.Typer(add_completion=False)
        single.command(name)(obj)
        command = typer.main.get_command(single)
        command.name = name
        return command


def first_line(help_text: str | None) -> str:
    return inspect.cleandoc(help_text or "").split("\n\n")[0].replace("\n", " ").strip()


class LazyGroup(TyperGroup):
    """A typer group whose ``lazy`` commands are placeholders until one is resolved to run."""

    lazy: ClassVar[dict[str, Lazy]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in self.lazy if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        # Listed in this group's --help: a stand-in carrying the help line, nothing imported.
        return typer.core.TyperCommand(name=cmd_name, help=self.lazy[cmd_name].help)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in self.lazy and args[0] not in self.commands:
            self.commands[args[0]] = self.lazy[args[0]].load(args[0])
        return super().resolve_command(ctx, args)

    def load_all(self) -> dict[str, Any]:
        """Every lazy command loaded (for tests and the help check)."""
        for name, entry in self.lazy.items():
            self.commands.setdefault(name, entry.load(name))
        return {name: self.commands[name] for name in self.lazy}


def tidy_help() -> None:
    """Typer's help as a user should read it (applied once, by ``ledger.cli.main``). The folding patch waits
    for the first help to be formatted: ``typer.rich_utils`` imports rich's Markdown stack (~0.1–0.2 s), which
    no command but ``--help`` needs."""
    if "help" in _PATCHED:
        return
    shown_type = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown_type(self, ctx)

    # A patch of typer's own method, on purpose: mypy refuses any assignment to a method.
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    for cls in (TyperCommand, TyperGroup):
        _fold_before_help(cls)
    _PATCHED.add("help")


def _fold_before_help(cls: Any) -> None:
    original = cls.format_help

    def format_help(self: Any, ctx: Any, formatter: Any) -> Any:
        _fold_descriptions()
        return original(self, ctx, formatter)

    cls.format_help = format_help


def _fold_descriptions() -> None:
    """A description wraps instead of ending in "…" (patched into ``typer.rich_utils`` once)."""
    import typer.rich_utils

    if "fold" in _PATCHED:
        return
    make_text = typer.rich_utils._make_rich_text

    def folded(**kwargs: Any) -> Any:
        text = make_text(**kwargs)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    typer.rich_utils._make_rich_text = folded
    _PATCHED.add("fold")

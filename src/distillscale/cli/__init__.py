"""Command-line entry point ``distillscale``.

Exit status: 0 success; 2 bad input or usage (one line on stderr, no traceback);
1 an internal error (traceback only with ``--debug``) or a failed training run; 130 (SIGINT,
Ctrl-C) or 143 (SIGTERM) when a signal stopped the command, with the one line
``interrupted: rerun to resume`` on stderr (see :mod:`distillscale.interrupts`).
"""

from __future__ import annotations

import logging
import signal
import sys

import typer
import typer.main
from rich.markup import escape

from distillscale import interrupts
from distillscale.cli.app import app, err_console
from distillscale.cli.errors import cli_message
from distillscale.errors import InputError

# Each import registers one subcommand (or group) on ``app``; keep one line per module.
from distillscale.cli import version_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import fit_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import predict_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import flops_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import runs_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import laws_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import plan_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import report_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import train_cmd  # noqa: E402,F401  isort: skip
from distillscale.cli import run_cmd  # noqa: E402,F401  isort: skip

__all__ = ["INTERRUPTED_MESSAGE", "app", "main", "run"]

#: The one line on stderr when SIGINT or SIGTERM stopped a command (exit 130 or 143).
INTERRUPTED_MESSAGE = "interrupted: rerun to resume"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return (and exit with) its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        with interrupts.handling():
            status = app(args=args, standalone_mode=False, prog_name="distillscale")
    except InputError as exc:
        # escape: "pip install 'distillscale[report]'" is not rich markup
        err_console.print(
            f"[bold red]error:[/] {escape(cli_message(exc))}", highlight=False, soft_wrap=True
        )
        if debug:
            raise
        return 2
    except typer.TyperException as exc:  # usage errors: bad or missing options, one line
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help, on stdout
            exc.show()  # type: ignore[attr-defined]
        else:
            line = _usage_line(exc, args)
            err_console.print(line, highlight=False, soft_wrap=True, markup=False)
        return 2
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except typer.Exit as exc:
        return _exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        return _interrupted(getattr(exc, "signum", None) or interrupts.received())
    except MemoryError as exc:  # a request too large for this machine, not a bug
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] out of memory ({_first_line(exc) or 'MemoryError'}); ask for "
            "less: a smaller model, batch, table or --bootstrap",
            highlight=False,
            soft_wrap=True,
        )
        return 2
    except Exception as exc:  # noqa: BLE001  an internal error: exit 1
        if debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(_first_line(exc))} "
            "(rerun with --debug)",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    # typer turns KeyboardInterrupt (and so Interrupted) into a returned 130; a command's
    # typer.Exit(code) is returned too, so an int is the command's exit status
    if status == _TYPER_INTERRUPT_STATUS:
        return _interrupted(interrupts.received())
    return _exit(status if isinstance(status, int) else None)


#: What typer returns (in non-standalone mode) when the command raised KeyboardInterrupt.
_TYPER_INTERRUPT_STATUS = 130


def _interrupted(signum: int | None) -> int:
    """Say that a signal stopped the command; return the shell's status, 128 + signal."""
    err_console.print(INTERRUPTED_MESSAGE, highlight=False, soft_wrap=True, markup=False)
    return 128 + (signum or signal.SIGINT)


def _usage_line(exc: typer.TyperException, args: list[str]) -> str:
    """One line for a usage error: ``distillscale fit: no such option: --bogus (see ...)``."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else _command_path(args)
    message = " ".join(exc.format_message().split()).rstrip(".")
    message = message.replace("Value error, ", "")
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    return f"{where}: {message} (see {where} --help)"


def _first_line(exc: BaseException) -> str:
    """The first non-blank line of an exception's message (torch's run to dozens)."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), "")


def _command_path(args: list[str]) -> str:
    """``distillscale runs list`` from argv: the leading words that name (sub)commands."""
    command = typer.main.get_command(app)
    words = ["distillscale"]
    for arg in args:
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        words.append(arg)
        command = sub
    return " ".join(words)


def _exit(code: int | None) -> int:
    return 0 if code is None else int(code)


def run() -> None:
    """Console-script entry point: run :func:`main` and exit with its status."""
    sys.exit(main())

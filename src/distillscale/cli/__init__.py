"""Command-line entry point ``distillscale``.

Exit status: 0 success; 2 bad input or usage (one line on stderr, no traceback);
1 an internal error (traceback only with ``--debug``).
"""

from __future__ import annotations

import logging
import sys

import typer
from rich.markup import escape

from distillscale.cli.app import app, err_console
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

__all__ = ["app", "main", "run"]


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
        app(args=args, standalone_mode=False, prog_name="distillscale")
    except InputError as exc:
        # escape: "pip install 'distillscale[report]'" is not rich markup
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        if debug:
            raise
        return _exit(2)
    except typer.Abort:
        err_console.print("aborted")
        return _exit(130)
    except typer.Exit as exc:
        return _exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad or missing options
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return _exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted: rerun the same command to resume")
        return _exit(130)
    except Exception as exc:  # noqa: BLE001  an internal error: exit 1
        if debug:
            raise
        err_console.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(rerun with --debug)",
            highlight=False,
            soft_wrap=True,
        )
        return _exit(1)
    return _exit(0)


def _exit(code: int | None) -> int:
    return 0 if code is None else int(code)


def run() -> None:
    """Console-script entry point: run :func:`main` and exit with its status."""
    sys.exit(main())

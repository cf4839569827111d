"""`counter-desk calc CASE.json|-`: the engine on the command line (shared/CALC-CONTRACT.md).

Exit 0 with the result JSON on stdout; exit 2 with one line `error: <path>: <what>` on stderr
for bad input; exit 3 with one line for a fault of ours. Never a traceback.
"""

from __future__ import annotations

import json
import os
import traceback
from typing import TextIO

from desktop.policy.contract import CalcInputError, calculate_text
from desktop.policy.parameters import ParameterFileError

USAGE = "usage: counter-desk calc CASE.json   (or - for standard input)"


def run(args: list[str], stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    if len(args) != 1 or args[0] in ("-h", "--help"):
        print(USAGE, file=stderr)
        return 2
    source = args[0]
    try:
        if source == "-":
            text = stdin.read()
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
    except UnicodeDecodeError:
        print(f"error: $: {source} is not UTF-8 text", file=stderr)
        return 2
    except OSError as exc:
        print(f"error: $: cannot read {source}: {exc.strerror or exc}", file=stderr)
        return 2
    try:
        output = calculate_text(text)
    except CalcInputError as exc:
        print(f"error: {_one_line(str(exc))}", file=stderr)
        return 2
    except ParameterFileError as exc:
        print(f"policy parameters: {exc}", file=stderr)
        return 3
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        if os.environ.get("COUNTER_DESK_DEBUG"):
            traceback.print_exc(file=stderr)
        print(f"internal error: {type(exc).__name__}: {_one_line(str(exc))}", file=stderr)
        return 3
    try:
        stdout.write(json.dumps(output, ensure_ascii=False, indent=2) + "\n")
        stdout.flush()
    except BrokenPipeError:  # the reader went away (e.g. `| head`); nothing is lost
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    return 0


def _one_line(text: str) -> str:
    """The contract promises one line on standard error, whatever the input held."""
    return " ".join(text.splitlines())

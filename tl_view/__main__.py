"""`python -m tl_view feasibility PATH`: the feasibility check with its report (see tl_view.feasibility_cli).

The engine's own commands are `python -m tl_core`; this one renders a report, so it lives in the presentation layer.
"""
import sys

from tl_view.feasibility_cli import main

if sys.argv[1:2] != ["feasibility"]:
    print("error: the command is `python -m tl_view feasibility PATH` (see `python -m tl_view feasibility --help`)",
          file=sys.stderr)
    sys.exit(2)
sys.exit(main(sys.argv[2:]))

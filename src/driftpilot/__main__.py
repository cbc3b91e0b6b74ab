"""``python -m driftpilot`` runs the command line."""

from driftpilot.cli import main

main()

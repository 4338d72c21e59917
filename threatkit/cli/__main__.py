"""`python -m threatkit.cli`: the `threatkit` program."""
from threatkit.cli import run

run()

"""The command line: ``rlaif-audit run|worker|judge|calibrate|audit|import|export|dashboard`` (the same
as ``python -m core``). ``main`` builds the parser and dispatches; each group of commands has its own
module here."""
from core.cli.main import main

__all__ = ["main"]

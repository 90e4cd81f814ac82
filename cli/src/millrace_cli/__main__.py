"""``python -m millrace_cli``: the same as the ``millrace`` script."""

from .main import app

app(prog_name="millrace")

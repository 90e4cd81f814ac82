"""The ``millrace`` commands, one module per group."""

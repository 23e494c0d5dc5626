"""The `safeattach` command line: `main.py` parses and dispatches; one module per command group (`read`,
`attach`, `log`). Empty on purpose: importing the package must cost nothing (start-up is part of the product)."""

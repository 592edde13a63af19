"""The Typer command line: thin parsing and rendering over the library."""

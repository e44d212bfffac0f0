"""One module per CLI subcommand, imported lazily by app.cli."""

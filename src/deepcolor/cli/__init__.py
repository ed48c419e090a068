"""Command-line interface: one module per sub-command, registered in `deepcolor.cli.main.COMMANDS`."""

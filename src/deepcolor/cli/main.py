"""The `deepcolor` command: a Click group whose sub-commands are imported only when used.

Each sub-command lives in its own module `deepcolor.cli.<name>` exposing a `click.Command` called `command`.
Lazy loading keeps `deepcolor --help` and `deepcolor info` fast: torch-heavy modules load only when needed.
A command module imports torch inside its function, never at import time, so that `deepcolor CMD --help` and
usage errors (exit 2) answer at once; tests/cli/test_main.py checks every command.

Ctrl-C ends any command with exit 130 (the shell's code for SIGINT) and one line, not click's "Aborted!"
and exit 1; the batch commands also turn SIGTERM into exit 143 (`deepcolor.cli.batch.exit_on_signals`).
"""

from __future__ import annotations

import importlib
import sys

import click

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as `deepcolor.cli.batch` (not imported here: --help stays light)

# name -> (module, one-line help shown by `deepcolor --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "colorize": ("deepcolor.cli.colorize", "Colorize grey photos at full resolution."),
    "enhance": ("deepcolor.cli.enhance", "Revive dull or faded colours (colour -> grey -> colour)."),
    "decolorize": ("deepcolor.cli.decolorize", "Colour to grey, keeping the contrast that luma loses."),
    "convert": ("deepcolor.cli.convert", "Show an image's channels in another colour space."),
    "demo": ("deepcolor.cli.demo", "Colorize scikit-image's sample photos into comparison sheets."),
    "train": ("deepcolor.cli.train", "Train a colorization model from a YAML preset."),
    "evaluate": ("deepcolor.cli.evaluate", "Score models against the truth on a folder or tar shard."),
    "models": ("deepcolor.cli.models", "List the registered model families and shipped weights."),
    "export": ("deepcolor.cli.export", "Export a model to ONNX."),
    "info": ("deepcolor.cli.info", "Versions, threads and the device that would be used."),
    "serve": ("deepcolor.cli.serve", "Serve the web page and HTTP API on this machine."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return module.command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted (Ctrl-C)", err=True)
            sys.exit(EXIT_INTERRUPTED)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help texts come from the table so that `--help` imports nothing heavy.
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="deepcolor")
def cli() -> None:
    """deepcolor: colour spaces, colorization, decolorization and enhancement for photos."""


def main() -> None:
    cli(prog_name="deepcolor")


if __name__ == "__main__":
    main()

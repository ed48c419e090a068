"""The base of every error a user can cause, so that each front end maps them in one place.

    try:
        deepcolor.colorize("scan.tif", model="runs/ae/best.pt")
    except deepcolor.DeepcolorError as error:
        print(error)  # one line: "runs/ae/best.pt: not a plain checkpoint dict ..."

`str(error)` is one line that names what it is about (a file, a hint source, a config key). The command line
prints it as ``deepcolor: <message>`` (`deepcolor.cli.batch`), the web service answers it with a 4xx and the
line as its body (`deepcolor.serve.app`). Every other exception is a bug and keeps its traceback.

The errors, each defined beside the code that raises it (several are also ValueErrors, as they always were):

| error | raised by | also a |
| --- | --- | --- |
| `deepcolor.io.ImageError` | reading or writing an image file | - |
| `deepcolor.models.CheckpointError` | reading or writing a model file, an unknown model | ValueError |
| `deepcolor.hints.points.HintError` | a bad hint, hint file or reference photo | ValueError |
| `deepcolor.train.config.ConfigError` | a bad training preset or override | ValueError |
| `deepcolor.data.DataError` | a missing or unusable data source | - |
| `deepcolor.train.loop.TrainingError` | training that cannot go on (NaN loss, ...) | - |
| `deepcolor.evaluate.EvaluationError` | an evaluation that cannot run | - |
| `deepcolor.models.encoders.WeightsMissing` | an ImageNet weights package not installed | RuntimeError |

Argument checks of the Python functions (a saturation out of range, a tensor of the wrong shape) raise plain
`ValueError` / `TypeError`, as Python and PyTorch do: those are the calling program's bugs.
"""

from __future__ import annotations

__all__ = ["DeepcolorError"]


class DeepcolorError(Exception):
    """An error the user caused (a bad file, option, hint, model file, preset or data source).

    ``str(error)`` is one line naming what it is about, e.g. ``"<file>: <problem>"``.
    """

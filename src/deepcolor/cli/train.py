"""`deepcolor train`: train a colorization model from a YAML preset plus `--key value` overrides.

deepcolor train --config configs/autoencoder.yaml --max-steps 500 --run-name ae-small
deepcolor train --resume runs/ae-small                       # continue after a crash or Ctrl-C
deepcolor train --config configs/cnn.yaml --compute-prior prior.pt
deepcolor train --export-weights runs/ae-small/best.pt       # -> best.safetensors + best.json
deepcolor train --export-weights runs/x/last.pt --settings-from src/deepcolor/weights/autoencoder-lite0.json
torchrun --nproc-per-node 2 -m deepcolor train --config configs/cnn.yaml --run-name cnn-ddp
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

HELP_EPILOG = (
    "Any field of the config can be overridden: --lr 3e-4, --batch-size 64, --model-kwargs.base-width 24, "
    "--ema true. Values are parsed as YAML."
)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"deepcolor: {message}", err=True)
    sys.exit(code)


@click.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": ["-h", "--help"],
    },
    epilog=HELP_EPILOG,
)
@click.option(
    "-c", "--config", "config_path", type=click.Path(dir_okay=False), help="YAML preset (configs/NAME.yaml)."
)
@click.option("--resume", type=click.Path(), help="Continue a run: its folder or a checkpoint (.pt).")
@click.option(
    "--compute-prior",
    type=click.Path(dir_okay=False),
    help="cnn: write the ab-bin prior to this file and exit.",
)
@click.option(
    "--export-weights",
    type=click.Path(dir_okay=False),
    help="Write CHECKPOINT's weights as .safetensors + .json beside it and exit.",
)
@click.option(
    "--settings-from",
    type=click.Path(dir_okay=False),
    help="With --export-weights: take the inference settings (render size, chroma gain, card) from this "
    "shipped .json.",
)
@click.option("--list-keys", is_flag=True, help="List the config keys with their defaults and exit.")
@click.pass_context
def command(
    ctx: click.Context,
    config_path: str | None,
    resume: str | None,
    compute_prior: str | None,
    export_weights: str | None,
    settings_from: str | None,
    list_keys: bool,
) -> None:
    """Train a colorization model from a YAML preset.

    \b
    Examples:
      deepcolor train --config configs/autoencoder.yaml --max-steps 500 --run-name ae
      deepcolor train --resume runs/ae                 (after a crash, SIGKILL or Ctrl-C)
      torchrun --nproc-per-node 2 -m deepcolor train --config configs/cnn.yaml --run-name cnn
      torchrun --nnodes 2 --node-rank 0 --nproc-per-node 4 --rdzv-backend c10d \\
               --rdzv-endpoint HOST:29500 -m deepcolor train --config configs/cnn.yaml --run-name cnn

    Writes runs/RUN_NAME/: config.yaml, last.pt, best.pt, best.safetensors + best.json, metrics.csv,
    samples/step_*.png and loss.png.
    """
    from deepcolor.train.config import TrainConfig

    if list_keys:
        for key, value in TrainConfig().to_dict().items():
            click.echo(f"--{key.replace('_', '-'):<18} {value!r}")
        return
    if settings_from and not export_weights:
        _fail("--settings-from goes with --export-weights CHECKPOINT")
    if export_weights:
        _export(export_weights, settings_from)
        return
    from deepcolor.train import distributed

    if distributed.world_size_from_env() == 1:
        _run_training(ctx.args, config_path, resume, compute_prior)
        return
    # a DDP worker started by torchrun ends without the interpreter's teardown (see exit_worker)
    try:
        _run_training(ctx.args, config_path, resume, compute_prior)
    except SystemExit as e:
        distributed.exit_worker(e.code)
    distributed.exit_worker(0)


def _run_training(
    args: list[str], config_path: str | None, resume: str | None, compute_prior: str | None
) -> None:
    from deepcolor.data import DataError
    from deepcolor.train.config import ConfigError, apply_overrides, load_config, make_config, parse_overrides
    from deepcolor.train.loop import TrainingError, train

    try:
        overrides = parse_overrides(list(args))
        checkpoint = None
        if resume:
            from deepcolor.models.checkpoint import read_checkpoint

            path = Path(resume)
            checkpoint = read_checkpoint(path / "last.pt" if path.is_dir() else path)
            config = make_config(apply_overrides(checkpoint["config"], overrides))
            if path.is_dir() or path.parent.name:  # keep writing into the run's folder
                run_dir = path if path.is_dir() else path.parent
                config.out_dir, config.run_name = str(run_dir.parent), run_dir.name
        elif config_path:
            config = load_config(config_path, overrides)
        else:
            raise ConfigError(
                "give --config configs/NAME.yaml (or --resume RUN_DIR); see deepcolor train --help"
            )
        if compute_prior:
            _compute_prior(config, compute_prior)
            return
        _check_steps(config.max_steps)  # before train() makes the run folder
        train(config, resume=checkpoint)
    except (ConfigError, DataError) as e:
        _fail(str(e))
    except ValueError as e:  # a missing or bad checkpoint / prior file, bad device
        _fail(str(e))
    except KeyboardInterrupt:
        sys.exit(130)
    except TrainingError as e:
        _fail(str(e), code=1)


def _check_steps(max_steps: object) -> None:
    """A run of no steps (or fewer) is a usage error: exit 2 before anything is written."""
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        _fail(f"max_steps must be at least 1, got {max_steps!r} (--max-steps N)")


def _compute_prior(config: object, out: str) -> None:
    from deepcolor.models import create_model
    from deepcolor.train.prior import compute_bin_prior, save_prior

    if config.model != "cnn":
        _fail(f"--compute-prior is for the cnn family, the config trains {config.model!r}")
    model = create_model("cnn", **config.model_kwargs)
    prior = compute_bin_prior(config, model.bin_centers)
    save_prior(prior, model.bin_centers, out, config.prior_images)
    used = int((prior > 0).sum())
    click.echo(
        f"wrote {out}: prior over {model.num_bins} bins ({used} seen) from {config.prior_images} images",
        err=True,
    )


# what a shipped .json says about using its weights, which a re-export of the same model keeps (the rest,
# model_name, model_kwargs, conditions, step and config, comes from the checkpoint)
INFERENCE_SETTINGS = ("render_size", "chroma_gain", "card", "encoder_weights", "recipe")


def _settings(path: str) -> dict[str, object]:
    import json

    try:
        meta = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        _fail(f"{path}: not a readable weights .json ({e})")
    if not isinstance(meta, dict):
        _fail(f"{path}: not a weights .json (no object at the top)")
    return {key: meta[key] for key in INFERENCE_SETTINGS if key in meta}


def _export(path: str, settings_from: str | None = None) -> None:
    from deepcolor.models import save_weights
    from deepcolor.models.checkpoint import read_weights

    settings = _settings(settings_from) if settings_from else {}
    try:
        weights = read_weights(path)  # read once, for the model and for its step and config
        model = weights.build()
    except ValueError as e:
        _fail(str(e))
        return
    state = weights.checkpoint
    if state is None:
        _fail(f"{path}: already shipped weights; --export-weights takes a training checkpoint (.pt)")
        return
    out = save_weights(
        model,
        Path(path).with_suffix(".safetensors"),
        {
            **settings,
            "step": state.get("step"),
            "config": state.get("config"),
            "ema": state.get("ema") is not None,
        },
    )
    click.echo(f"wrote {out} and {out.with_suffix('.json')}", err=True)

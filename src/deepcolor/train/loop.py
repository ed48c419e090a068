"""The training loop: one code path for a single process and for DDP (world size 1 is just the default).

    from deepcolor.train import load_config, train
    run_dir = train(load_config("configs/autoencoder.yaml", ["--max-steps", "500"]))

Each step: a batch of uint8 crops -> Lab on the device -> the family's task step (forward, loss, backward,
clip, AdamW, LR schedule) -> EMA. Every `ckpt_every` steps `last.pt` is written; every `val_every` steps the
model is scored on the fixed validation set and `best.pt` + `best.safetensors`/`best.json` follow a new best.
"""

from __future__ import annotations

import math
import os
import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from deepcolor.color import lab_to_rgb
from deepcolor.data import (
    ImageStream,
    StreamPosition,
    build_index,
    load_validation_set,
    make_loader,
    rgb_batch_to_lab,
)
from deepcolor.errors import DeepcolorError
from deepcolor.metrics.colorization import colorfulness
from deepcolor.models import create_model, save_weights
from deepcolor.models.checkpoint import read_weights
from deepcolor.models.encoders import WeightsMissing
from deepcolor.models.gan import PatchDiscriminator
from deepcolor.models.registry import ADVERSARIAL_TASKS, model_task
from deepcolor.normalization import denormalize_ab, denormalize_l, normalized_to_rgb
from deepcolor.train import distributed
from deepcolor.train.checkpoint import rng_state, save_checkpoint, set_rng_state
from deepcolor.train.config import ConfigError, TrainConfig, save_config
from deepcolor.train.ema import EMA
from deepcolor.train.logging import MetricsLog, write_loss_curve, write_png
from deepcolor.train.tasks import extra_columns, make_task


class TrainingError(DeepcolorError):
    """Training cannot go on (bad data, NaN loss, ...); the message is one line."""


def _pick_threads(config: TrainConfig, info: distributed.DistInfo) -> int:
    if config.threads > 0:
        return config.threads
    cores = os.cpu_count() or 1
    return max(1, cores // max(1, info.local_world_size) - config.num_workers)


def _build_model(config: TrainConfig) -> nn.Module:
    kwargs = dict(config.model_kwargs)
    init_state = None
    if config.init_from:
        # one read, by the one loader, for a .pt (its EMA weights when it has them) or a .safetensors
        init = read_weights(config.init_from)
        init_kwargs, init_state = init.model_kwargs, init.state
        kwargs = {**init_kwargs, **kwargs}
        config.model_kwargs = kwargs  # the run's kwargs must rebuild its model on their own
    try:
        model = create_model(config.model, **kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model_kwargs for {config.model!r}: {e}") from None
    config.model_kwargs = dict(model.model_kwargs)  # complete, so checkpoints never rely on defaults
    if init_state is not None:
        init_state = _grow_hint_carrier(model, init_state)
        # a module being added (train_only) starts fresh: its keys may be missing from init_from, no others
        fresh = tuple(f"{name}." for name in config.train_only)
        try:
            missing, unexpected = model.load_state_dict(init_state, strict=False)
        except RuntimeError as e:  # a tensor of the wrong shape
            first = str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else str(e)
            raise ConfigError(f"{config.init_from}: does not fit model {config.model!r} ({first})") from None
        missing = [key for key in missing if not key.startswith(fresh)]
        if missing or unexpected:
            keys = ", ".join([*missing[:3], *unexpected[:3]])
            what = "missing" if missing else "unexpected"
            raise ConfigError(
                f"{config.init_from}: does not fit model {config.model!r} ({what} keys: {keys})"
            )
    return model


def _grow_hint_carrier(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """init_from a file whose hint carrier is narrower than the model's, or does not attend where the
    model's does: start from that carrier widened (`HintSpreader.widened`) and given attention
    (`HintSpreader.with_attention`), each of which keeps its output, so a longer run goes on from it."""
    carrier = getattr(model, "hint_spreader", None)
    prefix = "hint_spreader."
    if carrier is None or prefix + "inp.weight" not in state:
        return state
    width = state[prefix + "inp.weight"].shape[0]
    attention = state[prefix + "key.weight"].shape[0] if prefix + "key.weight" in state else 0
    if width >= carrier.width and (attention or not carrier.attention):
        return state
    from deepcolor.models.hint_spreader import HintSpreader

    grown = HintSpreader(carrier.feature_channels, width, attention)
    grown.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
    if width < carrier.width:
        grown = grown.widened(carrier.width)
        print(f"deepcolor: the hint carrier of init_from widened from {width} to {carrier.width} channels",
              file=sys.stderr)  # fmt: skip
    if carrier.attention and not attention:
        grown = grown.with_attention(carrier.attention)
        print(f"deepcolor: the hint carrier of init_from given attention (keys of {carrier.attention} "
              "channels)", file=sys.stderr)  # fmt: skip
    return {**{k: v for k, v in state.items() if not k.startswith(prefix)},
            **{prefix + k: v for k, v in grown.state_dict().items()}}  # fmt: skip


def _setup_prior(model: nn.Module, config: TrainConfig, run_dir: Path, info: distributed.DistInfo) -> None:
    from deepcolor.train.prior import compute_bin_prior, load_prior, save_prior

    if config.prior:
        prior = load_prior(config.prior, model.bin_centers)
    else:
        if info.is_main:
            print(
                f"deepcolor: computing the ab-bin prior over {config.prior_images} training images",
                file=sys.stderr,
            )
        prior = compute_bin_prior(config, model.bin_centers)
        if info.is_main:
            save_prior(prior, model.bin_centers, run_dir / "prior.pt", config.prior_images)
    model.set_prior(prior)


@torch.no_grad()
def evaluate(
    model: nn.Module, rgb: torch.Tensor, device: torch.device, batch_size: int = 100
) -> dict[str, float]:
    """Mean L1 on a*b* (Lab units), mean PSNR (dB, sRGB [0, 1]) and the colourfulness ratio (mean of the
    predictions' over mean of the truths', Hasler and Suesstrunk) of `predict_ab` on (N, H, W, 3) uint8."""
    was_training = model.training
    model.eval()
    l1_sum = psnr_sum = colour_pred = colour_true = 0.0
    for start in range(0, rgb.shape[0], batch_size):
        chunk = rgb[start : start + batch_size]
        l_norm, ab_norm = rgb_batch_to_lab(chunk, device)
        ab_pred = model.predict_ab(l_norm).float()
        l1_sum += denormalize_ab((ab_pred - ab_norm).abs()).mean(dim=(1, 2, 3)).sum().item()
        rgb_pred = normalized_to_rgb(l_norm, ab_pred)
        truth = chunk.to(device).permute(0, 3, 1, 2).float() / 255.0
        mse = (rgb_pred - truth).pow(2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
        psnr_sum += (10.0 * torch.log10(1.0 / mse)).sum().item()
        colour_pred += colorfulness(rgb_pred.clamp(0.0, 1.0)).sum().item()
        colour_true += colorfulness(truth).sum().item()
    model.train(was_training)
    n = rgb.shape[0]
    ratio = colour_pred / colour_true if colour_true > 0 else 0.0
    return {"val_l1": l1_sum / n, "val_psnr": psnr_sum / n, "val_colourfulness": ratio}


@torch.no_grad()
def sample_sheet(model: nn.Module, rgb: torch.Tensor, device: torch.device, title: str) -> np.ndarray:
    """grey | predicted | truth for each image of (N, H, W, 3) uint8 -> (H, W, 3) uint8 sheet."""
    from deepcolor.viz import make_sheet

    was_training = model.training
    model.eval()
    l_norm, _ = rgb_batch_to_lab(rgb, device)
    l = denormalize_l(l_norm)
    ab_pred = denormalize_ab(model.predict_ab(l_norm).float())
    grey = lab_to_rgb(torch.cat((l, torch.zeros_like(ab_pred)), dim=1))
    pred = lab_to_rgb(torch.cat((l, ab_pred), dim=1))
    model.train(was_training)
    rows = [
        [g.permute(1, 2, 0).cpu().numpy(), p.permute(1, 2, 0).cpu().numpy(), t.cpu().numpy()]
        for g, p, t in zip(grey, pred, rgb, strict=False)
    ]
    return make_sheet(
        rows, col_labels=["grey", "predicted", "truth"], tile_size=max(128, rgb.shape[1]), title=title
    )


class StopRequests:
    """Ctrl-C (SIGINT) and SIGTERM during training: the step under way finishes, then the run saves
    `last.pt` and stops, so a resume replays exactly the steps an unbroken run would take. A second signal
    stops at once (the step under way is then lost, and the last checkpoint is kept as it was)."""

    def __init__(self) -> None:
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt

    def __enter__(self) -> StopRequests:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is signal.SIG_IGN:  # e.g. SIGINT of a job started in the background
                continue
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread: signals stay as they are
                pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    @property
    def requested(self) -> bool:
        return self.count > 0


def run_dir_for(config: TrainConfig) -> Path:
    if not config.run_name:
        config.run_name = f"{config.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    return Path(config.out_dir) / config.run_name


def train(config: TrainConfig, resume: dict[str, Any] | None = None) -> Path:
    """Train one run and return its folder (`<out_dir>/<run_name>`).

    Args:
        config: the run's config (for a resume: the checkpoint's, with any overrides).
        resume: a checkpoint dict from `read_checkpoint` to continue from, or None for a fresh run.

    Raises:
        ConfigError, TrainingError, deepcolor.data.DataError: one-line problems for the user.
        KeyboardInterrupt: after Ctrl-C or SIGTERM, once `last.pt` is saved.
    """
    info = distributed.setup(config.device)
    threads = torch.get_num_threads()
    try:
        with StopRequests() as stops:
            run = _Run.start(config, resume, info)
            run_dir = run.loop(stops)
        # Every rank reaches the group's teardown together, after rank 0 has validated and written its
        # files (NCCL's teardown is collective; a rank that leaves early only waits there).
        distributed.barrier(info)
        return run_dir
    finally:
        distributed.cleanup()
        torch.set_num_threads(threads)


def _prepare_run_dir(config: TrainConfig, resume: dict[str, Any] | None, info: distributed.DistInfo) -> Path:
    if resume is None and info.enabled and not config.run_name:
        raise ConfigError("DDP runs need --run-name (all ranks must agree on the folder)")
    run_dir = run_dir_for(config)
    if resume is None and (run_dir / "last.pt").exists():
        raise ConfigError(
            f"{run_dir}: already holds a run; continue it with --resume {run_dir} or pick --run-name"
        )
    if info.is_main:
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    return run_dir


def _build_teacher(config: TrainConfig, device: torch.device) -> nn.Module | None:
    """For `hint_free_target: init`: the init_from model as it was, frozen in eval mode (also on a resume:
    the teacher is always the file the run started from)."""
    if config.hint_free_target == "truth":
        return None
    if not config.init_from:
        raise ConfigError("hint_free_target 'init' needs init_from (the model whose prediction it learns)")
    teacher = read_weights(config.init_from).build().to(device).eval()
    if not getattr(teacher, "hint_inputs", False):
        raise ConfigError(f"hint_free_target 'init': {config.init_from} is not a model with hint inputs")
    return teacher.requires_grad_(False)


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _build_models(
    config: TrainConfig, resume: dict[str, Any] | None, info: distributed.DistInfo, run_dir: Path
) -> tuple[nn.Module, nn.Module | None]:
    """The model (fresh, from `init_from`, or rebuilt for a resume) and the GAN's discriminator."""
    if resume is not None:
        config.model_kwargs = dict(resume["model_kwargs"])
        model = create_model(resume["model_name"], **config.model_kwargs)
    else:
        model = _build_model(config)
        if hasattr(model, "init_pretrained") and not config.init_from:
            try:
                model.init_pretrained()  # ImageNet weights of the encoder (from the [train] extra)
            except RuntimeError as e:
                raise ConfigError(str(e)) from None
        # a run that trains only some modules of an initialised model keeps the rest, its prior and class
        # weights included (a recomputed prior would change the frozen part's buffers)
        if hasattr(model, "set_prior") and not (config.init_from and config.train_only):
            _setup_prior(model, config, run_dir, info)
    if hasattr(model, "freeze_encoder_blocks"):
        model.freeze_encoder_blocks(config.freeze_blocks)
    if config.train_only:
        if not hasattr(model, "freeze_except"):
            raise ConfigError(f"train_only: model {config.model!r} cannot freeze its other parts")
        try:
            model.freeze_except(list(config.train_only))
        except ValueError as e:
            raise ConfigError(f"train_only: {e}") from None
    model.to(info.device)
    discriminator = None
    if model_task(config.model, config.model_kwargs) in ADVERSARIAL_TASKS:
        discriminator = PatchDiscriminator(config.disc_width, config.disc_layers, pool=config.disc_pool)
        discriminator = discriminator.to(info.device)
    return model, discriminator


@dataclass
class _Run:
    """One training run's state: what a checkpoint saves and a resume restores, and the loop over it."""

    config: TrainConfig
    info: distributed.DistInfo
    run_dir: Path
    model: nn.Module
    discriminator: nn.Module | None
    task: Any
    ema: EMA | None
    step: int = 0
    best_metric: float | None = None
    best_step: int | None = None
    elapsed0: float = 0.0
    accum: dict[str, float] = field(default_factory=dict)
    position: StreamPosition | None = None
    t_start: float = field(default_factory=time.perf_counter)
    out_of_time: bool = False  # `max_minutes` reached: the step just taken is the last
    pending_rng: dict[str, Any] | None = (
        None  # a resumed run's RNG state, restored just before its first step
    )
    mid_step: bool = False  # a step is under way (a second signal then stops it half-way)

    @classmethod
    def start(cls, config: TrainConfig, resume: dict[str, Any] | None, info: distributed.DistInfo) -> _Run:
        run_dir = _prepare_run_dir(config, resume, info)
        torch.set_num_threads(_pick_threads(config, info))
        torch.manual_seed(config.seed)
        np.random.seed(config.seed)  # noqa: NPY002  (third-party code may use the legacy global RNG)
        random.seed(config.seed)
        model, discriminator = _build_models(config, resume, info, run_dir)

        def wrap(module: nn.Module) -> nn.Module:
            if not info.enabled:
                return module
            ids = [info.device.index] if info.device.type == "cuda" else None
            return DistributedDataParallel(module, device_ids=ids)

        try:
            teacher = _build_teacher(config, info.device)
            task = make_task(model, wrap, config, info.device, discriminator, teacher)
        except (ValueError, WeightsMissing) as e:  # WeightsMissing: the perceptual loss's network
            raise ConfigError(str(e)) from None
        run = cls(config, info, run_dir, model, discriminator, task, None)
        run.position = StreamPosition(num_workers=max(1, config.num_workers))
        if resume is not None:
            run._restore(resume)
        # after the weights are in place, so that an EMA switched on at a resume starts from them
        run.ema = EMA(model, config.ema_decay) if config.ema else None
        if run.ema is not None and resume is not None and resume.get("ema") is not None:
            run.ema.load_state_dict(resume["ema"])
        return run

    def _restore(self, resume: dict[str, Any]) -> None:
        info = self.info
        self.model.load_state_dict(resume["model"])
        if self.discriminator is not None and resume.get("discriminator") is not None:
            self.discriminator.load_state_dict(resume["discriminator"])
        for name, opt in self.task.optimizers.items():
            opt.load_state_dict(resume["optimizers"][name])
        for name, sched in self.task.schedulers.items():
            sched.load_state_dict(resume["schedulers"][name])
        self.task.scaler.load_state_dict(resume["scaler"])
        self.step, self.best_metric = resume["step"], resume.get("best_metric")
        self.best_step = resume.get("best_step")
        self.elapsed0 = resume.get("elapsed_s", 0.0)
        self.accum = dict(resume.get("log_accum") or {})
        ranks = resume.get("ranks") or []
        mine = (
            ranks[info.rank] if info.rank < len(ranks) and ranks[info.rank] else (ranks[0] if ranks else None)
        )
        if mine is not None:
            self.position = StreamPosition.from_state_dict(mine["data"])
            if len(ranks) == info.world_size and ranks[info.rank]:
                self.pending_rng = mine["rng"]  # set once the loader's iterator has drawn its seed
        if resume.get("world_size", 1) != info.world_size and info.is_main:
            print(
                f"deepcolor: resuming a {resume.get('world_size', 1)}-process run with {info.world_size} "
                "processes: the data order changes from here",
                file=sys.stderr,
            )

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.shadow if self.ema is not None else self.model

    def local_state(self) -> dict[str, Any]:
        return {"data": self.position.state_dict(), "rng": rng_state()}

    def checkpoint_state(self, ranks: list[Any]) -> dict[str, Any]:
        return {
            "model_name": self.config.model,
            "model_kwargs": dict(self.config.model_kwargs),
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "discriminator": self.discriminator.state_dict() if self.discriminator is not None else None,
            "optimizers": {k: v.state_dict() for k, v in self.task.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.task.schedulers.items()},
            "scaler": self.task.scaler.state_dict(),
            "step": self.step,
            "epoch": self.position.samples_epoch(),
            "ranks": ranks,
            "world_size": self.info.world_size,
            "best_metric": self.best_metric,
            "best_step": self.best_step,
            "log_accum": dict(self.accum),
            "elapsed_s": self.elapsed0 + time.perf_counter() - self.t_start,
            "config": self.config.to_dict(),
        }

    def _data(self) -> tuple[list[Any], ImageStream, torch.Tensor | None, MetricsLog | None]:
        config, info = self.config, self.info
        index = build_index([config.resolve_path(p) for p in config.train_data])
        stream = ImageStream(
            index,
            config.image_size,
            config.batch_size,
            config.seed,
            info.rank,
            info.world_size,
            config.num_workers,
            config.min_scale,
            config.grey_threshold,
        )
        try:
            stream.set_position(self.position)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if not info.is_main:
            return index, stream, None, None
        val_rgb, val_grey = load_validation_set(
            [config.resolve_path(p) for p in config.val_data],
            config.val_images,
            config.image_size,
            config.grey_threshold,
        )
        save_config(config, self.run_dir / "config.yaml")
        log = MetricsLog(
            self.run_dir / "metrics.csv",
            extra_columns(model_task(config.model, config.model_kwargs), config.perceptual_weight > 0),
            self.run_dir / "tensorboard",
        )
        if self.step:
            log.truncate(self.step)
        print(
            f"deepcolor: {config.model} {sum(p.numel() for p in self.model.parameters()) / 1e6:.2f}M "
            f"parameters, {len(index)} training images, {val_rgb.shape[0]} validation images "
            f"({val_grey} near-grey skipped), "
            f"{info.world_size} process(es) on {info.device}, writing {self.run_dir}",
            file=sys.stderr,
        )
        return index, stream, val_rgb, log

    def _train_step(self, batch: dict[str, Any]) -> int:
        """One optimisation step on `batch`; returns the number of images it saw (all ranks)."""
        self.position.update(batch)
        l_norm, ab_norm = rgb_batch_to_lab(batch["rgb"], self.info.device)
        metrics = self.task.step(l_norm, ab_norm, self.step)
        if not math.isfinite(metrics["loss"]):
            raise TrainingError(
                f"the loss became {metrics['loss']} at step {self.step + 1}; try a lower --lr"
            )
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.model, self.step)
        for key, value in metrics.items():
            self.accum[key] = self.accum.get(key, 0.0) + value
        self.accum["_count"] = self.accum.get("_count", 0.0) + 1
        self.accum["_grey"] = self.accum.get("_grey", 0.0) + batch["grey_dropped"]
        return l_norm.shape[0] * self.info.world_size

    def _log_row(self, log: MetricsLog | None, dataset_size: int, speed: float, now: float) -> dict[str, Any]:
        count = self.accum.pop("_count")
        grey = self.accum.pop("_grey", 0.0)
        row = {k: v / count for k, v in self.accum.items()}
        row.update(
            step=self.step,
            epoch=stream_epoch(self.position, dataset_size, self.info.world_size),
            lr=self.task.optimizers["model"].param_groups[0]["lr"],
            images_per_s=speed,
            grey_dropped=int(grey),
            elapsed_s=self.elapsed0 + now - self.t_start,
        )
        self.accum.clear()
        if log is not None:
            log.add(row)
        return row

    def _validate(self, val_rgb: torch.Tensor, log: MetricsLog, dataset_size: int, ranks: list[Any]) -> str:
        config = self.config
        scores = evaluate(self.eval_model, val_rgb, self.info.device)
        log.add(
            {
                "step": self.step,
                "epoch": stream_epoch(self.position, dataset_size, self.info.world_size),
                **scores,
            }
        )
        if config.keep_val_weights and self.info.is_main:
            save_weights(
                self.eval_model,
                self.run_dir / f"step{self.step:06d}.safetensors",
                {"step": self.step, **scores, "config": config.to_dict()},
            )
        value = scores[config.best_metric]
        higher_better = config.best_metric == "val_psnr"
        best = self.best_metric
        if best is None or (value > best if higher_better else value < best):
            self.best_metric, self.best_step = value, self.step
            save_checkpoint(self.checkpoint_state(ranks), self.run_dir / "best.pt")
            save_weights(
                self.eval_model,
                self.run_dir / "best.safetensors",
                {"step": self.step, **scores, "config": config.to_dict()},
            )
        return (
            f"step {self.step}: val L1 {scores['val_l1']:.3f}  PSNR {scores['val_psnr']:.2f} dB  "
            f"colourfulness {scores['val_colourfulness']:.2f} of the truth's"
        )

    def loop(self, stops: StopRequests) -> Path:
        """Train to `max_steps` (or until a stop is requested), validating, saving and sampling on the way."""
        config = self.config
        if config.best_metric not in ("val_l1", "val_psnr"):
            raise ConfigError(f"best_metric must be val_l1 or val_psnr, got {config.best_metric!r}")
        index, stream, val_rgb, log = self._data()
        loader = make_loader(stream, config.num_workers)
        self.t_start = time.perf_counter()
        progress = self._progress_bar()
        batches = iter(loader)
        # Creating the iterator draws a seed from torch's RNG: a resumed run restores its RNG after that, so
        # that the steps (random hints, flat images) see exactly the numbers an unbroken run's steps saw.
        if self.pending_rng is not None:
            set_rng_state(self.pending_rng)
            self.pending_rng = None
        interrupted = False
        try:
            self._steps(batches, stops, log, val_rgb, len(index), progress)
        except KeyboardInterrupt:
            interrupted = True
            self._save_on_interrupt()
        finally:
            if progress is not None:
                progress.close()
            del batches
        self._finish(log, interrupted)
        if interrupted:
            raise KeyboardInterrupt
        return self.run_dir

    def _progress_bar(self) -> Any:
        """The main process's step bar (tqdm), shown only on a terminal; None when `progress` is off."""
        if not (self.info.is_main and self.config.progress):
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.config.max_steps,
            initial=self.step,
            desc=self.config.run_name,
            unit="step",
            dynamic_ncols=True,
            file=sys.stderr,
            disable=not _stderr_is_terminal(),  # a log (`| tail`) gets the validation lines, no bar
        )

    def _due(self, every: int) -> bool:
        """Whether the step just taken is one of every `every` (the last step always is, whether the run
        ends at `max_steps` or at `max_minutes`)."""
        return self.step % every == 0 or self.step == self.config.max_steps or self.out_of_time

    def _check_time(self) -> None:
        """After a step: whether `max_minutes` of training have passed (decided alike on every rank)."""
        limit = self.config.max_minutes
        if limit > 0 and not self.out_of_time:
            late = time.perf_counter() - self.t_start >= limit * 60.0
            self.out_of_time = distributed.any_rank(late, self.info)

    def _steps(
        self,
        batches: Any,
        stops: StopRequests,
        log: MetricsLog | None,
        val_rgb: torch.Tensor | None,
        dataset_size: int,
        progress: Any,
    ) -> None:
        """The steps up to `max_steps`, each followed by what falls due (log row, validation, checkpoint,
        sample sheet); a stop request raises KeyboardInterrupt between steps."""
        since, images = self.t_start, 0  # the interval whose speed the next log row reports
        while self.step < self.config.max_steps and not self.out_of_time:
            if stops.requested:
                raise KeyboardInterrupt
            self.mid_step = True
            images += self._train_step(next(batches))
            self.mid_step = False
            self._check_time()
            if progress is not None:
                progress.update(1)
            if self._due(self.config.log_every):
                since, images = self._log_interval(log, dataset_size, progress, since, images), 0
            self._validate_save_and_sample(val_rgb, log, dataset_size, progress)

    def _log_interval(
        self, log: MetricsLog | None, dataset_size: int, progress: Any, since: float, images: int
    ) -> float:
        """Write the log row of the steps since `since` (`images` seen in them); returns the time now."""
        now = time.perf_counter()
        speed = images / max(now - since, 1e-9)
        row = self._log_row(log, dataset_size, speed, now)
        if progress is not None:
            progress.set_postfix(loss=f"{row['loss']:.4g}", img_s=f"{speed:.0f}", refresh=False)
        return now

    def _validate_save_and_sample(
        self, val_rgb: torch.Tensor | None, log: MetricsLog | None, dataset_size: int, progress: Any
    ) -> None:
        """After a step: validate (and keep a new best), write `last.pt`, write a sample sheet, when due."""
        config, info = self.config, self.info
        do_val, do_ckpt = self._due(config.val_every), self._due(config.ckpt_every)
        if do_val or do_ckpt:
            ranks = distributed.gather_objects(self.local_state(), info)
        if info.is_main and do_val:
            line = self._validate(val_rgb, log, dataset_size, ranks)
            if progress is not None:
                progress.write(line)
        if info.is_main and do_ckpt:
            save_checkpoint(self.checkpoint_state(ranks), self.run_dir / "last.pt")
        if info.is_main and self._due(config.sample_every):
            sheet = sample_sheet(
                self.eval_model,
                val_rgb[: config.num_samples],
                info.device,
                f"{config.run_name} step {self.step}",
            )
            write_png(self.run_dir / "samples" / f"step_{self.step:07d}.png", sheet)

    def _save_on_interrupt(self) -> None:
        """After Ctrl-C or SIGTERM: save `last.pt` at the last whole step and say how to continue."""
        if not self.info.is_main:
            return
        run_dir = self.run_dir
        if self.mid_step:  # a second signal stopped a step half-way: its state is not whole
            print(
                f"\ndeepcolor: stopped during step {self.step + 1}; {run_dir / 'last.pt'} is left as it "
                f"was (continue with --resume {run_dir})",
                file=sys.stderr,
            )
            return
        # only this rank's data position is known here; other ranks resume from it (approximate under DDP)
        save_checkpoint(self.checkpoint_state([self.local_state()]), run_dir / "last.pt")
        print(
            f"\ndeepcolor: interrupted at step {self.step}; saved {run_dir / 'last.pt'} "
            f"(continue with --resume {run_dir})",
            file=sys.stderr,
        )

    def _finish(self, log: MetricsLog | None, interrupted: bool) -> None:
        """The main process draws the loss curve, closes the log and (unless interrupted) sums the run up."""
        if not self.info.is_main:
            return
        config = self.config
        write_loss_curve(log, self.run_dir / "loss.png", config.run_name)
        log.close()
        if not interrupted:
            print(
                f"deepcolor: done, {self.step} steps; best {config.best_metric} {self.best_metric:.4g} "
                f"at step {self.best_step}; results in {self.run_dir}",
                file=sys.stderr,
            )


def stream_epoch(position: StreamPosition, dataset_size: int, world_size: int) -> float:
    """Fractional epoch reached, averaged over the logical workers (for display)."""
    if not position.positions:
        return 0.0
    share = dataset_size / (world_size * position.num_workers)
    return sum(e + c / max(share, 1) for e, c in position.positions) / len(position.positions)

"""What one training step means for each task the registry names (`deepcolor.models.registry.model_task`):
losses, and which optimisers step.

regression         Huber / L1 on ab_norm (the from-scratch autoencoder)
classification     rebalanced cross-entropy on soft-encoded bins (the from-scratch cnn; the loss lives on it)
adversarial        L1 (+ adversarial after `pretrain_steps`), PatchGAN discriminator stepped first (gan)
joint              a pretrained-encoder model: regression + class loss (+ perceptual) with simulated hints
joint-adversarial  the same, plus the PatchGAN (the gan family on a pretrained encoder)
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models.registry import ADVERSARIAL_TASKS, model_task
from deepcolor.train.config import TrainConfig


def regression_loss(ab_pred: torch.Tensor, ab_norm: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    if config.loss == "l1":
        return F.l1_loss(ab_pred.float(), ab_norm)
    if config.loss == "huber":
        return F.huber_loss(ab_pred.float(), ab_norm, delta=config.huber_delta)
    raise ValueError(f"unknown loss {config.loss!r}; use huber or l1")


def lr_lambda(config: TrainConfig) -> Any:
    """Linear warm-up to 1, then cosine / linear decay to min_lr / lr (or constant)."""
    floor = config.min_lr / config.lr if config.lr > 0 else 0.0

    def factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / (config.warmup_steps + 1)
        if config.schedule == "constant":
            return 1.0
        progress = min(1.0, (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps))
        if config.schedule == "linear":
            return floor + (1.0 - floor) * (1.0 - progress)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def make_optimizer(module: nn.Module, lr: float, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases and normalisation weights (1-d tensors). A model with a
    pretrained encoder (`encoder_parameters()`) gets its encoder at `lr * config.encoder_lr_scale`."""
    encoder_ids = (
        {id(p) for p in module.encoder_parameters()} if hasattr(module, "encoder_parameters") else set()
    )
    groups = []
    for in_encoder, scale in ((False, 1.0), (True, config.encoder_lr_scale)):
        params = [p for p in module.parameters() if p.requires_grad and (id(p) in encoder_ids) == in_encoder]
        decay = [p for p in params if p.dim() > 1]
        no_decay = [p for p in params if p.dim() <= 1]
        groups += [
            {"params": decay, "weight_decay": config.weight_decay, "lr": lr * scale},
            {"params": no_decay, "weight_decay": 0.0, "lr": lr * scale},
        ]
    groups = [g for g in groups if g["params"]] or groups[:2]
    return torch.optim.AdamW(groups, lr=lr, betas=(config.beta1, config.beta2))


class Task:
    """Base: one model, one optimiser. `step` runs forward, backward and the optimiser step(s)."""

    def __init__(
        self, model: nn.Module, wrapped: nn.Module, config: TrainConfig, device: torch.device
    ) -> None:
        self.model = model  # unwrapped: what gets saved
        self.wrapped = wrapped  # DDP-wrapped (or the same module at world size 1)
        self.config = config
        self.device = device
        self.optimizers: dict[str, torch.optim.Optimizer] = {
            "model": make_optimizer(model, config.lr, config)
        }
        self.schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = {
            "model": torch.optim.lr_scheduler.LambdaLR(self.optimizers["model"], lr_lambda(config))
        }
        self.extra_modules: dict[str, nn.Module] = {}
        self.discriminator: nn.Module | None = None  # the adversarial tasks' PatchGAN (add_discriminator)
        self.wrapped_discriminator: nn.Module | None = None
        amp = config.amp == "on" or (config.amp == "auto" and device.type == "cuda")
        self.amp_dtype = None
        if amp:
            bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
            self.amp_dtype = torch.bfloat16 if bf16 or device.type == "cpu" else torch.float16
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)

    def add_discriminator(self, discriminator: nn.Module, wrapped: nn.Module) -> None:
        """Train a PatchGAN beside the model (`adversarial_round`), with its own optimiser at a constant LR:
        it only trains during the short adversarial phase."""
        self.discriminator = discriminator
        self.wrapped_discriminator = wrapped
        self.extra_modules["discriminator"] = discriminator
        self.optimizers["discriminator"] = make_optimizer(discriminator, self.config.disc_lr, self.config)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _optimize(self, loss: torch.Tensor, name: str, module: nn.Module) -> float:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        norm = 0.0
        if self.config.grad_clip > 0:
            self.scaler.unscale_(optimizer)
            norm = float(nn.utils.clip_grad_norm_(module.parameters(), self.config.grad_clip))
        self.scaler.step(optimizer)
        return norm

    def step(self, l_norm: torch.Tensor, ab_norm: torch.Tensor, step: int) -> dict[str, float]:
        raise NotImplementedError

    def adversarial_round(
        self, l_norm: torch.Tensor, ab_norm: torch.Tensor, ab_fake: torch.Tensor, critic_only: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The PatchGAN's step on real vs detached fake (L, ab) pairs (one forward for both halves), then the
        generator's non-saturating loss against the just-updated discriminator: (loss_adv, loss_d).
        `critic_only` (the critic's warm-up): the generator's loss is zero and costs no forward."""
        b = l_norm.shape[0]
        with self.autocast():
            logits = self.wrapped_discriminator(
                torch.cat((l_norm, l_norm)), torch.cat((ab_norm, ab_fake.detach()))
            ).float()
        real, fake = logits[:b], logits[b:]
        loss_d = 0.5 * (
            F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        )
        self._optimize(loss_d, "discriminator", self.discriminator)
        if critic_only:
            return torch.zeros((), device=loss_d.device), loss_d
        with self.autocast():
            fooled = self.wrapped_discriminator(l_norm, ab_fake).float()
        return F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled)), loss_d

    def finish_step(self) -> None:
        self.scaler.update()
        for scheduler in self.schedulers.values():
            scheduler.step()


class RegressionTask(Task):
    """autoencoder: ab_pred = model(l_norm), Huber or L1 against the truth."""

    def step(self, l_norm: torch.Tensor, ab_norm: torch.Tensor, step: int) -> dict[str, float]:
        with self.autocast():
            ab_pred = self.wrapped(l_norm)
        loss = regression_loss(ab_pred, ab_norm, self.config)
        grad_norm = self._optimize(loss, "model", self.model)
        self.finish_step()
        return {"loss": loss.item(), "grad_norm": grad_norm}


class ClassifierTask(Task):
    """cnn: logits over bins, rebalanced soft cross-entropy."""

    def step(self, l_norm: torch.Tensor, ab_norm: torch.Tensor, step: int) -> dict[str, float]:
        with self.autocast():
            logits = self.wrapped(l_norm)
        loss = self.model.loss(logits, ab_norm, self.config.soft_neighbors, self.config.soft_sigma)
        grad_norm = self._optimize(loss, "model", self.model)
        self.finish_step()
        return {"loss": loss.item(), "grad_norm": grad_norm}


class EncoderTask(Task):
    """Pretrained-encoder models: both heads at once, on images with simulated colour hints.

    loss = regression_weight * Huber/L1(ab) + class_weight * rebalanced cross-entropy over the ab bins
           (+ perceptual_weight * the distance to the same target in a frozen ImageNet network's features,
           `FeatureLoss`).
    Each batch gets point hints and global hints drawn from its own truth (`deepcolor.hints.simulate`), and
    a share of `flat_prob` images is replaced by texture-less grey ramps whose truth is neutral.

    With a `teacher` (`hint_free_target: init`: the init_from model, frozen), an image without point hints
    learns the teacher's prediction instead of its truth (flat images keep their neutral truth): a hint
    fine-tune then changes what hints do, not the automatic colorization (left alone, the regression drifts
    to duller colour at the new crop size). The class head still learns from the truth.
    """

    def __init__(
        self,
        model: nn.Module,
        wrapped: nn.Module,
        config: TrainConfig,
        device: torch.device,
        discriminator: nn.Module | None = None,
        wrapped_discriminator: nn.Module | None = None,
        teacher: nn.Module | None = None,
    ) -> None:
        super().__init__(model, wrapped, config, device)
        self.teacher = teacher
        self.feature_loss = None
        if config.perceptual_weight > 0:
            from deepcolor.train.feature_loss import FeatureLoss

            self.feature_loss = FeatureLoss(config.perceptual_net).to(device)
        if discriminator is not None:  # the gan family: adversarial after `pretrain_steps` (NoGAN)
            self.add_discriminator(discriminator, wrapped_discriminator)

    def step(self, l_norm: torch.Tensor, ab_norm: torch.Tensor, step: int) -> dict[str, float]:
        from deepcolor.hints import simulate

        config = self.config
        flat = torch.zeros(l_norm.shape[0], dtype=torch.bool)
        if config.flat_prob > 0:
            flat = torch.rand(l_norm.shape[0]) < config.flat_prob
            if flat.any():
                n = int(flat.sum())
                l_norm, ab_norm = l_norm.clone(), ab_norm.clone()
                l_norm[flat] = simulate.flat_images(n, *l_norm.shape[-2:], l_norm.device)
                ab_norm[flat] = 0.0
        conditions = {}
        if self.model.hint_inputs:
            conditions["hints"] = simulate.simulate_point_hints(
                ab_norm, config.hint_geometric_p, config.hint_free_prob
            )
            conditions["global_hints"] = simulate.simulate_global_hints(
                ab_norm, self.model.bin_centers, config.histogram_hint_prob, config.chroma_hint_prob
            )
        target = self.hint_free_target(l_norm, ab_norm, conditions, flat)
        with self.autocast():
            ab_pred, logits = self.wrapped(l_norm, **conditions)
        loss_reg = regression_loss(ab_pred, target, config)
        loss_cls = self.model.class_loss(logits, ab_norm, config.soft_neighbors, config.soft_sigma)
        loss = config.regression_weight * loss_reg + config.class_weight * loss_cls
        extra = {}
        if self.feature_loss is not None:
            loss_perc = self.feature_loss(l_norm, ab_pred, target)
            loss = loss + config.perceptual_weight * loss_perc
            extra["loss_perc"] = loss_perc.item()
        if self.discriminator is not None:
            loss_adv = loss_d = torch.zeros(())
            if step >= config.pretrain_steps:
                warmup = step < config.pretrain_steps + config.disc_warmup_steps
                loss_adv, loss_d = self.adversarial_round(l_norm, ab_norm, ab_pred, critic_only=warmup)
                loss = loss + config.adv_weight * loss_adv
            extra.update(loss_adv=loss_adv.item(), loss_d=loss_d.item())
        grad_norm = self._optimize(loss, "model", self.model)
        self.finish_step()
        return {
            "loss": loss.item(),
            "loss_reg": loss_reg.item(),
            "loss_cls": loss_cls.item(),
            **extra,
            "grad_norm": grad_norm,
        }

    @torch.no_grad()
    def hint_free_target(
        self,
        l_norm: torch.Tensor,
        ab_norm: torch.Tensor,
        conditions: dict[str, torch.Tensor],
        flat: torch.Tensor,
    ) -> torch.Tensor:
        """The regression target: the truth, or with a teacher, its prediction for the images that have no
        point hint and are not flat."""
        if self.teacher is None or "hints" not in conditions:
            return ab_norm
        free = ~conditions["hints"][:, -1].flatten(1).any(dim=1) & ~flat.to(ab_norm.device)
        if not free.any():
            return ab_norm
        target = ab_norm.clone()
        target[free] = self.teacher.predict_ab(
            l_norm[free], **{k: v[free] for k, v in conditions.items()}
        ).to(target.dtype)
        return target


class GANTask(Task):
    """gan: the U-Net generator on L1 (NoGAN pre-training) then L1 + adv_weight * non-saturating GAN loss
    against a PatchGAN on (L, ab); the discriminator steps first on real vs detached fake pairs."""

    def __init__(
        self,
        model: nn.Module,
        wrapped: nn.Module,
        config: TrainConfig,
        device: torch.device,
        discriminator: nn.Module,
        wrapped_discriminator: nn.Module,
    ) -> None:
        super().__init__(model, wrapped, config, device)
        self.add_discriminator(discriminator, wrapped_discriminator)

    def step(self, l_norm: torch.Tensor, ab_norm: torch.Tensor, step: int) -> dict[str, float]:
        with self.autocast():
            ab_fake = self.wrapped(l_norm)
        l1 = regression_loss(ab_fake, ab_norm, self.config)
        if step < self.config.pretrain_steps:  # NoGAN: the generator alone, on L1
            grad_norm = self._optimize(l1, "model", self.model)
            self.finish_step()
            return {
                "loss": l1.item(),
                "loss_l1": l1.item(),
                "loss_adv": 0.0,
                "loss_d": 0.0,
                "grad_norm": grad_norm,
            }
        # the discriminator steps first; then the generator fools it and stays close in L1
        warmup = step < self.config.pretrain_steps + self.config.disc_warmup_steps
        loss_adv, loss_d = self.adversarial_round(l_norm, ab_norm, ab_fake, critic_only=warmup)
        loss = l1 + self.config.adv_weight * loss_adv
        grad_norm = self._optimize(loss, "model", self.model)
        self.finish_step()
        return {
            "loss": loss.item(),
            "loss_l1": l1.item(),
            "loss_adv": loss_adv.item(),
            "loss_d": loss_d.item(),
            "grad_norm": grad_norm,
        }


def make_task(
    model: nn.Module,
    wrap: Any,
    config: TrainConfig,
    device: torch.device,
    discriminator: nn.Module | None,
    teacher: nn.Module | None = None,
) -> Task:
    """The step for `model`, as the registry names its task (`model_task(config.model, config.model_kwargs)`).
    `teacher`: the frozen init_from model, for `hint_free_target: init` (pretrained-encoder models only)."""
    task = model_task(config.model, config.model_kwargs)
    if task == "joint-adversarial":
        return EncoderTask(model, wrap(model), config, device, discriminator, wrap(discriminator), teacher)
    if task == "joint":
        return EncoderTask(model, wrap(model), config, device, teacher=teacher)
    if teacher is not None:
        raise ValueError(f"hint_free_target 'init' needs a model with hint inputs, not {config.model!r}")
    if config.perceptual_weight > 0:
        raise ValueError(f"perceptual_weight needs a pretrained-encoder model, not {config.model!r}")
    if task == "adversarial":
        return GANTask(model, wrap(model), config, device, discriminator, wrap(discriminator))
    if task == "classification":
        return ClassifierTask(model, wrap(model), config, device)
    return RegressionTask(model, wrap(model), config, device)


def extra_columns(task: str, perceptual: bool = False) -> list[str]:
    """The metric columns beyond `loss` of a task's steps (`perceptual`: the run has a perceptual loss)."""
    adversarial = ["loss_adv", "loss_d"] if task in ADVERSARIAL_TASKS else []
    if task.startswith("joint"):
        return ["loss_reg", "loss_cls"] + (["loss_perc"] if perceptual else []) + adversarial
    return ["loss_l1", *adversarial] if adversarial else []

"""What one training step means for each family: losses, and which optimisers step.

autoencoder  Huber / L1 on ab_norm
cnn          rebalanced cross-entropy on soft-encoded bins (the loss lives on the model)
gan          L1 (+ adversarial after `pretrain_steps`), PatchGAN discriminator stepped first
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

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
    """AdamW; no weight decay on biases and normalisation weights (1-d tensors)."""
    decay = [p for p in module.parameters() if p.requires_grad and p.dim() > 1]
    no_decay = [p for p in module.parameters() if p.requires_grad and p.dim() <= 1]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
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
        amp = config.amp == "on" or (config.amp == "auto" and device.type == "cuda")
        self.amp_dtype = None
        if amp:
            bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
            self.amp_dtype = torch.bfloat16 if bf16 or device.type == "cpu" else torch.float16
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)

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
        self.discriminator = discriminator
        self.wrapped_discriminator = wrapped_discriminator
        self.extra_modules["discriminator"] = discriminator
        # constant LR for the discriminator: it only trains during the short adversarial phase
        self.optimizers["discriminator"] = make_optimizer(discriminator, config.disc_lr, config)

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
        # discriminator: real pairs -> 1, fake pairs -> 0, one forward for both halves
        b = l_norm.shape[0]
        with self.autocast():
            logits = self.wrapped_discriminator(
                torch.cat((l_norm, l_norm)), torch.cat((ab_norm, ab_fake.detach()))
            )
        logits = logits.float()
        real, fake = logits[:b], logits[b:]
        loss_d = 0.5 * (
            F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
        )
        self._optimize(loss_d, "discriminator", self.discriminator)
        # generator: fool the (just updated) discriminator, stay close in L1
        with self.autocast():
            fooled = self.wrapped_discriminator(l_norm, ab_fake).float()
        loss_adv = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
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


def extra_columns(model_name: str) -> list[str]:
    """Per-family metric columns beyond `loss`."""
    return ["loss_l1", "loss_adv", "loss_d"] if model_name == "gan" else []

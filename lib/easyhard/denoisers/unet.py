"""A DDPM U-Net written from the equations (Ho et al. 2020).

The network predicts the noise: ``eps_hat = f_theta(x_t, t)``; the clean image
follows as ``x0_hat = (x_t - s_t eps_hat) / a_t`` (book: chapters/cifar_simplicity_bias.ipynb, ``sec-cifar-idea``).

* time embedding: ``e(t)_j = sin(t w_j)``, ``e(t)_{j + C/2} = cos(t w_j)`` with
  ``w_j = 10000^{-j / (C/2 - 1)}``, then Linear-SiLU-Linear to ``4C``;
* residual block: ``h = conv(SiLU(GN(x)))``; ``h += Linear(SiLU(temb))``;
  ``h = conv(dropout(SiLU(GN(h))))`` (zero-initialised); out ``= skip(x) + h``;
* self-attention (at the listed resolutions): ``q, k, v = 1x1 conv(GN(x))``,
  ``x + proj(softmax(q^T k / sqrt C) v)`` over the H W positions;
* down path: ``num_res_blocks`` blocks per level, strided 3x3 conv between
  levels; middle: block, attention, block; up path: ``num_res_blocks + 1``
  blocks per level on the concatenated skips, nearest upsampling + 3x3 conv.

Presets: ``tiny`` (1.62M parameters), ``small`` (6.47M), ``ddpm`` (35.7M, the
DDPM CIFAR-10 configuration: width 128, mults (1, 2, 2, 2), 2 blocks, attention
at 16x16, dropout 0.1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from easyhard._validation import ArgumentTypeError, check_choice, check_int, check_scalar


@dataclass(frozen=True)
class UNetConfig:
    """Architecture of :class:`~easyhard.denoisers.unet.UNet`."""

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 2, 2)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    dropout: float = 0.1
    groups: int = 32
    in_channels: int = 3
    resolution: int = 32

    def __post_init__(self) -> None:
        """Check every field (integers, tuples, ranges) before a network is built."""
        for name in ("ch", "num_res_blocks", "groups", "in_channels", "resolution"):
            check_int(getattr(self, name), name, lo=1)
        for name in ("ch_mult", "attn_resolutions"):
            value = getattr(self, name)
            if not isinstance(value, (tuple, list)):
                raise ArgumentTypeError(f"{name} must be a tuple of integers, got {value!r}")
            object.__setattr__(self, name, tuple(value))  # frozen: a list from JSON becomes a tuple
        for m in self.ch_mult:
            check_int(m, "ch_mult entries", lo=1)
        for r in self.attn_resolutions:
            check_int(r, "attn_resolutions entries", lo=1)
        check_scalar(self.dropout, "dropout", lo=0.0, hi=1.0, closed="left")
        if self.ch < 1 or self.ch % self.groups:
            raise ValueError(f"ch must be a positive multiple of groups={self.groups}, got {self.ch}")
        if not self.ch_mult or min(self.ch_mult) < 1:
            raise ValueError(f"ch_mult must be a non-empty tuple of integers >= 1, got {self.ch_mult}")
        if self.num_res_blocks < 1:
            raise ValueError(f"num_res_blocks must be >= 1, got {self.num_res_blocks}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.resolution % 2 ** (len(self.ch_mult) - 1):
            raise ValueError(
                f"resolution {self.resolution} must be divisible by 2^(len(ch_mult) - 1)"
            )


PRESETS: dict[str, UNetConfig] = {
    "tiny": UNetConfig(ch=32, ch_mult=(1, 2, 2), dropout=0.0, groups=8),
    "small": UNetConfig(ch=64, ch_mult=(1, 2, 2), dropout=0.1, groups=16),
    "ddpm": UNetConfig(),
}


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the integer steps ``t`` (shape (B,)) into (B, dim).

    ``e(t)_j = sin(t w_j)``, ``e(t)_{j + dim/2} = cos(t w_j)``, ``w_j = 10000^{-j / (dim/2 - 1)}``
    for ``j = 0 .. dim/2 - 1``; ``dim`` must be even and at least 4.
    """
    dim = check_int(dim, "dim (embedding width)", lo=4)
    if dim % 2:
        raise ValueError(f"dim (embedding width) must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device) / (half - 1))
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    """GN-SiLU-conv, add the time embedding, GN-SiLU-dropout-conv, residual."""

    def __init__(self, c_in: int, c_out: int, temb: int, dropout: float, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.temb = nn.Linear(temb, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        """Apply the block to ``x`` (B, C_in, H, W) with time embedding ``temb`` (B, 4C)."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class Attention(nn.Module):
    """Single-head self-attention over the spatial positions, residual."""

    def __init__(self, c: int, groups: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Add attention over the H W positions of ``x`` (B, C, H, W) to ``x``."""
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(2, 3).unbind(1)
        out = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None])[:, 0]
        return x + self.proj(out.transpose(1, 2).reshape(b, c, h, w))


class UNet(nn.Module):
    """eps-prediction U-Net: ``forward(x_t, t) -> eps_hat`` with ``t`` integer steps (B,)."""

    def __init__(self, config: UNetConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config if config is not None else UNetConfig()
        ch, g, temb = cfg.ch, cfg.groups, 4 * cfg.ch
        self.temb = nn.Sequential(nn.Linear(ch, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.conv_in = nn.Conv2d(cfg.in_channels, ch, 3, padding=1)
        self.down = nn.ModuleList()
        skips, c, res = [ch], ch, cfg.resolution
        for level, mult in enumerate(cfg.ch_mult):
            for _ in range(cfg.num_res_blocks):
                block = nn.ModuleList([ResBlock(c, ch * mult, temb, cfg.dropout, g)])
                c = ch * mult
                if res in cfg.attn_resolutions:
                    block.append(Attention(c, g))
                self.down.append(block)
                skips.append(c)
            if level < len(cfg.ch_mult) - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1)]))
                skips.append(c)
                res //= 2
        self.mid1 = ResBlock(c, c, temb, cfg.dropout, g)
        self.mid_attn = Attention(c, g)
        self.mid2 = ResBlock(c, c, temb, cfg.dropout, g)
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(cfg.ch_mult))):
            for _ in range(cfg.num_res_blocks + 1):
                block = nn.ModuleList([ResBlock(c + skips.pop(), ch * mult, temb, cfg.dropout, g)])
                c = ch * mult
                if res in cfg.attn_resolutions:
                    block.append(Attention(c, g))
                self.up.append(block)
            if level > 0:
                self.up.append(nn.ModuleList([nn.Upsample(scale_factor=2.0, mode="nearest"),
                                              nn.Conv2d(c, c, 3, padding=1)]))
                res *= 2
        self.norm_out = nn.GroupNorm(g, c)
        self.conv_out = nn.Conv2d(c, cfg.in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Predict the noise eps of ``x`` (B, 3, H, W) at integer steps ``t`` (B,)."""
        temb = self.temb(timestep_embedding(t, self.config.ch))
        h = self.conv_in(x)
        hs = [h]
        for block in self.down:
            if isinstance(block[0], ResBlock):
                h = block[0](h, temb)
                if len(block) > 1:
                    h = block[1](h)
            else:
                h = block[0](h)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for block in self.up:
            if isinstance(block[0], ResBlock):
                h = block[0](torch.cat([h, hs.pop()], dim=1), temb)
                if len(block) > 1:
                    h = block[1](h)
            else:
                h = block[1](block[0](h))
        return self.conv_out(F.silu(self.norm_out(h)))


def unet(preset: str = "tiny", **overrides: object) -> UNet:
    """A :class:`~easyhard.denoisers.unet.UNet` from a preset name (``tiny``, ``small``, ``ddpm``) with field overrides."""
    check_choice(preset, "preset", tuple(PRESETS))
    return UNet(UNetConfig(**{**asdict(PRESETS[preset]), **overrides}))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

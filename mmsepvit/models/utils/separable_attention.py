# Copyright (c) mmsepvit contributors. All rights reserved.
import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule

from mmsepvit.utils import revise_on_load
from mmsepvit.utils.cpu_features import cpu_has_amx_bf16

WINDOW_TOKEN_MODES = ('zeros', 'shared', 'per_window')


def window_grid(hw_shape: Tuple[int, int],
                window_size: int) -> Tuple[int, int]:
    """Number of windows along H and W once the map is padded to whole
    windows.

    Integer arithmetic only: traced with symbolic sizes it exports faster
    than ``math.ceil`` of a true division, and with non-negative operands
    ONNX's truncating division agrees with Python's floor division (unlike
    ``-(-h // window_size)``).
    """
    return ((hw_shape[0] + window_size - 1) // window_size,
            (hw_shape[1] + window_size - 1) // window_size)


def resample_window_tokens(tokens: torch.Tensor,
                           grid: Tuple[int, int]) -> torch.Tensor:
    """Per-window tokens learned on one window grid, resampled to ``grid``.

    Bicubic interpolation of the tokens laid out on their grid, as
    position embeddings are resampled for another input size (mmpretrain's
    ``resize_pos_embed``, timm's ``resample_abs_pos_embed``). A square
    number of tokens is taken as a square grid; any other number as the
    grid of ``grid``'s aspect ratio that holds it.

    Args:
        tokens (Tensor): ``(n, C)`` tokens in raster order of their grid.
        grid (tuple[int, int]): The window grid ``(h, w)`` wanted.

    Returns:
        Tensor: ``(h * w, C)`` tokens; ``tokens`` itself if it already has
        ``h * w``.
    """
    num_tokens, channels = tokens.shape
    if num_tokens == grid[0] * grid[1]:
        return tokens
    rows = math.isqrt(num_tokens)
    if rows * rows != num_tokens:
        rows = max(1, round(math.sqrt(num_tokens * grid[0] / grid[1])))
    if num_tokens % rows != 0:
        raise ValueError(
            f'Cannot lay {num_tokens} window tokens out on a grid of the '
            f'aspect ratio of {grid[0]}x{grid[1]}: resample them to that '
            f'grid by hand, or fine-tune at the size they were learned at.')
    source = tokens.t().reshape(1, channels, rows, num_tokens // rows)
    resampled = F.interpolate(
        source.float(), size=grid, mode='bicubic', align_corners=False)
    return resampled.reshape(channels, -1).t().to(tokens.dtype)


def attention(q: torch.Tensor,
              k: torch.Tensor,
              v: torch.Tensor,
              dropout_p: float = 0.) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d)) v`` over the last two dimensions, ``d`` the
    size of ``q``'s last one, by the computation that is faster where it
    runs (:func:`attention_path` picks it).

    PyTorch's fused kernel (``scaled_dot_product_attention``) everywhere
    but on CPU in bfloat16 or float16, where two batched products around a
    softmax in that precision (as in Swin and Twins) are faster: always
    when a backward pass follows (the fused kernel's low-precision CPU
    backward costs several times its float32 one), and in inference unless
    the CPU has AMX bf16 tiles, where the fused kernel's bf16 forward is the
    faster one (docs/benchmarks.md). The softmax keeps its float
    accumulation inside; only its output is rounded.
    ``benchmark_limits.py`` prints which computation its rows ran.

    Args:
        q (Tensor): Queries ``(..., Lq, d)``.
        k (Tensor): Keys ``(..., Lk, d)``.
        v (Tensor): Values ``(..., Lk, dv)``.
        dropout_p (float): Dropout on the attention map. Defaults to 0.

    Returns:
        Tensor: ``(..., Lq, dv)``.
    """
    if attention_path(q, k, v) == 'fused':
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    weights = ((q * q.size(-1)**-0.5) @ k.transpose(-2, -1)).softmax(-1)
    if dropout_p:
        weights = F.dropout(weights, dropout_p)
    return weights @ v


def attention_path(q: torch.Tensor, k: torch.Tensor,
                   v: torch.Tensor) -> str:
    """Which computation :func:`attention` runs for these inputs:
    ``'fused'`` or ``'products'``."""
    if q.device.type != 'cpu':
        return 'fused'
    dtype = (torch.get_autocast_dtype('cpu')
             if torch.is_autocast_enabled('cpu') else q.dtype)
    if dtype not in (torch.bfloat16, torch.float16):
        return 'fused'
    backward = torch.is_grad_enabled() and any(t.requires_grad
                                               for t in (q, k, v))
    if (not backward and dtype == torch.bfloat16 and cpu_has_amx_bf16()):
        return 'fused'
    return 'products'


class SeparableSelfAttention(BaseModule):
    """Separable self-attention of SepViT (Li et al., arXiv 2203.15380).

    The attention branch of a SepViT block, computed as the authors' code
    does it:

    1. the ``(H, W)`` map is zero-padded on the right and bottom to whole
       windows (the authors' dense-prediction code; nothing is masked) and
       split into ``nw`` windows of ``M = window_size**2`` tokens;
    2. a window token is prepended to every window and all tokens go through
       one LayerNorm;
    3. depthwise self-attention (DWA): multi-head self-attention inside each
       window (one shared qkv projection for pixel and window tokens), plus
       its normalised input;
    4. pointwise self-attention (PWA): queries and keys come from the window
       tokens after LayerNorm and GELU, the values are the windows' whole
       feature maps (no value projection), plus those feature maps;
    5. the padding is cropped and one output projection is applied.

    A window of 14 laid over a map otherwise split into 7-windows is the
    paper's grouped self-attention: it is the same computation.

    Both attentions run over all windows at once, each by :func:`attention`.

    Args:
        embed_dims (int): Number of input and output channels ``C``.
        num_heads (int): Number of attention heads; ``C`` must be divisible
            by it. DWA and PWA share the heads and the scale
            ``(C / num_heads) ** -0.5``.
        window_size (int): Side of the square windows in tokens.
        input_resolution (tuple[int, int], optional): The ``(H, W)`` map
            size the model is built for. Only needed by the two choices that
            depend on it: ``window_token='per_window'`` learns one token per
            window position of this map, and ``single_window_pwa=False``
            drops PWA if this map is a single window. Defaults to None.
        window_token (str): How window tokens are made: ``'zeros'`` (fixed
            zeros, the authors' dense-prediction code; any input size),
            ``'shared'`` (one learned token shared by all windows; any input
            size) or ``'per_window'`` (one learned token per window position,
            the authors' ImageNet model; only inputs of
            ``input_resolution``'s window grid). Defaults to ``'zeros'``.
        single_window_pwa (bool): Whether PWA is built when
            ``input_resolution`` is a single window. True: always (the
            authors' dense code, which runs PWA over one window too). False:
            such a module has no PWA weights and no window token and is
            multi-head self-attention over the whole map (the authors'
            ImageNet blocks whose window covers the whole 224 map); it stays
            that at any input size. Defaults to True.
        qkv_bias (bool): Whether the q/k/v projections have a bias.
            Defaults to True.
        attn_drop (float): Dropout on both attention maps. Defaults to 0.
        proj_drop (float): Dropout after the output projection.
            Defaults to 0.
        norm_cfg (dict): Config of the LayerNorm over pixel and window
            tokens. Defaults to ``dict(type='LN', eps=1e-6)``.
        window_norm_cfg (dict): Config of the LayerNorm on window tokens
            before PWA. Defaults to ``dict(type='LN')`` (eps 1e-5, as the
            authors).
        act_cfg (dict): Activation on window tokens before PWA.
            Defaults to ``dict(type='GELU')``.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 window_size: int,
                 input_resolution: Optional[Tuple[int, int]] = None,
                 window_token: str = 'zeros',
                 single_window_pwa: bool = True,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 window_norm_cfg: dict = dict(type='LN'),
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.register_load_state_dict_pre_hook(revise_on_load)
        if embed_dims % num_heads != 0:
            raise ValueError(f'embed_dims ({embed_dims}) must be divisible '
                             f'by num_heads ({num_heads}).')
        if window_token not in WINDOW_TOKEN_MODES:
            raise ValueError(f'window_token must be one of '
                             f'{WINDOW_TOKEN_MODES}, got {window_token!r}.')
        needs_resolution = (window_token == 'per_window'
                            or not single_window_pwa)
        if needs_resolution and input_resolution is None:
            raise ValueError(
                "window_token='per_window' and single_window_pwa=False "
                'depend on the map size: give input_resolution.')
        cpu_has_amx_bf16()  # read here, where torch.compile does not trace
        self.embed_dims = embed_dims
        self.num_heads = num_heads
        self.window_size = window_size
        self.window_token_mode = window_token
        self.attn_drop = attn_drop
        num_windows = self.grid = None
        if input_resolution is not None:
            self.grid = window_grid(input_resolution, window_size)
            num_windows = self.grid[0] * self.grid[1]
        self.with_pwa = single_window_pwa or num_windows > 1

        self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        if self.with_pwa:
            if window_token == 'shared':
                self.window_token = nn.Parameter(torch.zeros(1, embed_dims))
            elif window_token == 'per_window':
                self.window_token = nn.Parameter(
                    torch.zeros(num_windows, embed_dims))
            self.pwa_norm = build_norm_layer(window_norm_cfg, embed_dims)[1]
            self.pwa_act = build_activation_layer(act_cfg)
            self.pwa_qk = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def revise_state_dict(self, state_dict: dict, prefix: str = '') -> None:
        """Resample, in place, per-window tokens learned at another input
        size (a SimMIM checkpoint at 192, an ImageNet one fine-tuned at 384)
        to this module's window grid; see
        :func:`mmsepvit.utils.safe_checkpoint.state_dict_as_loaded`."""
        key = prefix + 'window_token'
        if (self.window_token_mode == 'per_window' and key in state_dict
                and state_dict[key].dim() == 2):
            state_dict[key] = resample_window_tokens(state_dict[key],
                                                     self.grid)

    def forward(self, x: torch.Tensor,
                hw_shape: Tuple[int, int]) -> torch.Tensor:
        """
        Args:
            x (Tensor): Tokens of shape ``(B, H*W, C)`` in raster order.
            hw_shape (tuple[int, int]): The map size ``(H, W)``.

        Returns:
            Tensor: The attention branch output of shape ``(B, H*W, C)``.
        """
        if not self.with_pwa:
            x = self._depthwise_attention(self.norm(x))
            return self.proj_drop(self.proj(x))

        grid = window_grid(hw_shape, self.window_size)
        windows = self._partition(x, hw_shape, grid)
        tokens = torch.cat([self._window_tokens(windows, grid), windows], 2)
        B, num_windows, L, C = tokens.shape
        tokens = self._depthwise_attention(
            self.norm(tokens).view(B * num_windows, L, C)).view(
                B, num_windows, L, C)
        windows = self._pointwise_attention(tokens[:, :, 0], tokens[:, :, 1:])
        x = self._reverse(windows, hw_shape, grid)
        return self.proj_drop(self.proj(x))

    def _partition(self, x: torch.Tensor, hw_shape: Tuple[int, int],
                   grid: Tuple[int, int]) -> torch.Tensor:
        """``(B, H*W, C)`` -> zero-padded windows ``(B, nw, M, C)``."""
        B, _, C = x.shape
        H, W = hw_shape
        ws = self.window_size
        x = x.view(B, H, W, C)
        x = F.pad(x, (0, 0, 0, grid[1] * ws - W, 0, grid[0] * ws - H))
        x = x.view(B, grid[0], ws, grid[1], ws, C).transpose(2, 3)
        return x.reshape(B, grid[0] * grid[1], ws * ws, C)

    def _reverse(self, windows: torch.Tensor, hw_shape: Tuple[int, int],
                 grid: Tuple[int, int]) -> torch.Tensor:
        """Windows ``(B, nw, M, C)`` -> cropped tokens ``(B, H*W, C)``."""
        B, _, _, C = windows.shape
        H, W = hw_shape
        ws = self.window_size
        x = windows.view(B, grid[0], grid[1], ws, ws, C).transpose(2, 3)
        x = x.reshape(B, grid[0] * ws, grid[1] * ws, C)[:, :H, :W]
        return x.reshape(B, H * W, C)

    def _window_tokens(self, windows: torch.Tensor,
                       grid: Tuple[int, int]) -> torch.Tensor:
        """One token per window, shape ``(B, nw, 1, C)``."""
        B, num_windows, _, C = windows.shape
        if self.window_token_mode == 'zeros':
            return windows.new_zeros(B, num_windows, 1, C)
        token = self.window_token
        if (self.window_token_mode == 'per_window'
                and token.size(0) != num_windows):
            raise ValueError(
                f"window_token='per_window' learned {token.size(0)} window "
                f'positions, but this feature map splits into '
                f'{grid[0]}x{grid[1]}={num_windows} windows of '
                f'{self.window_size}. Feed the size the model was built for '
                f"(img_size) or use window_token='shared' or 'zeros', which "
                f'work at any size.')
        return token.view(1, -1, 1, C).expand(B, num_windows, 1, C)

    def _depthwise_attention(self, tokens: torch.Tensor) -> torch.Tensor:
        """Self-attention inside each window plus its input.

        Written as ``(N, L, C)`` in and out, q, k and v split along the
        channels: the exported graph is then the pattern onnxruntime's
        fusions make one ``Attention`` operator of, projection included
        (:mod:`mmsepvit.deployment.onnxruntime_fusions`).

        Args:
            tokens (Tensor): Normalised tokens ``(N, L, C)``, one sequence
                per window.
        """
        N, L, C = tokens.shape
        q, k, v = (
            part.view(N, L, self.num_heads, C // self.num_heads).transpose(
                1, 2) for part in self.qkv(tokens).chunk(3, dim=-1))
        out = attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        return out.transpose(1, 2).reshape(N, L, C) + tokens

    def _pointwise_attention(self, window_tokens: torch.Tensor,
                             windows: torch.Tensor) -> torch.Tensor:
        """Attention across windows plus its input.

        Args:
            window_tokens (Tensor): ``(B, nw, C)``, queries and keys.
            windows (Tensor): ``(B, nw, M, C)``, the values: per head, a
                window's ``M`` tokens of that head's channels.
        """
        B, num_windows, M, C = windows.shape
        head_dims = C // self.num_heads
        qk = self.pwa_qk(self.pwa_act(self.pwa_norm(window_tokens)))
        q, k = qk.view(B, num_windows, 2, self.num_heads,
                       head_dims).permute(2, 0, 3, 1, 4).unbind(0)
        v = windows.reshape(B, num_windows, M, self.num_heads,
                            head_dims).permute(0, 3, 1, 2, 4)
        out = attention(
            q,
            k,
            v.reshape(B, self.num_heads, num_windows, M * head_dims),
            dropout_p=self.attn_drop if self.training else 0.)
        out = out.view(B, self.num_heads, num_windows, M, head_dims)
        return out.permute(0, 2, 3, 1, 4).reshape(B, num_windows, M,
                                                  C) + windows

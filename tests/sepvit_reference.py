# Copyright (c) mmsepvit contributors. All rights reserved.
"""The authors' SepViT, re-stated from the spec (shared/research/
sepvit_spec.md) as plain functions over a state dict in the authors' key
layout, independent of mmsepvit's modules.

- :func:`authors_state_dict`: random weights under the authors' keys
  (spec 7.9) for their ImageNet classifier or their dense backbone.
- :func:`authors_dense_backbone`: ``detection/sepvit.py``'s forward (spec
  3.1, 3.4-3.6): zero window tokens, right/bottom zero padding before the
  block norm, pointwise attention in every block, and each stage's LayerNorm
  on the main path.
- :func:`authors_imagenet_classifier`: ``classification/sepvit.py``'s
  forward at 224 (spec 3.1-3.5): learned per-window tokens, blocks that see
  one window are plain global attention, final LayerNorm, mean, head.

Windows are cut and pasted back one by one with slices, and attention is
written out as matrix products and a softmax.
"""
import math
from collections import OrderedDict

import torch
import torch.nn.functional as F

# Spec 1.1: channels, depths, heads; window 7, and 14 on the odd blocks of
# stages 2 and 3.
ARCHS = dict(
    lite=([32, 64, 128, 256], [1, 2, 6, 2], [1, 2, 4, 8]),
    tiny=([96, 192, 384, 768], [1, 2, 6, 2], [3, 6, 12, 24]),
    small=([96, 192, 384, 768], [1, 2, 14, 2], [3, 6, 12, 24]),
    base=([128, 256, 512, 1024], [1, 2, 14, 2], [4, 8, 16, 32]),
)


def window_size(stage, block):
    return 14 if stage in (1, 2) and block % 2 == 1 else 7


def imagenet_num_windows(stage, block):
    """The authors' ``win_num`` at 224 (spec 3.5)."""
    return ((224 // 4 // 2**stage) // window_size(stage, block))**2


def authors_state_dict(arch, dense, seed=0, num_classes=1000):
    """Random weights in the authors' layout.

    Args:
        arch (str): A key of :data:`ARCHS`.
        dense (bool): The dense backbone (PSA weights in every block, no
            window tokens, ``norm_list``, and the unused ``norm`` and
            ``head``) or the ImageNet classifier (no PSA weights and no
            window tokens in blocks that see one window at 224).
    """
    gen = torch.Generator().manual_seed(seed)

    def randn(*shape, std=1.):
        return torch.randn(*shape, generator=gen) * std

    def linear(name, out_dims, in_dims):
        sd[name + '.weight'] = randn(out_dims, in_dims, std=in_dims**-0.5)
        sd[name + '.bias'] = randn(out_dims, std=0.1)

    def norm(name, dims):
        sd[name + '.weight'] = 1 + randn(dims, std=0.2)
        sd[name + '.bias'] = randn(dims, std=0.2)

    dims, depths, _ = ARCHS[arch]
    sd = OrderedDict()
    in_dims = 3
    for i, (c, depth) in enumerate(zip(dims, depths)):
        k = 7 if i == 0 else 3
        sd[f'patch_embeds.{i}.proj.weight'] = randn(
            c, in_dims, k, k, std=(in_dims * k * k)**-0.5)
        sd[f'patch_embeds.{i}.proj.bias'] = randn(c, std=0.1)
        norm(f'patch_embeds.{i}.norm', c)
        sd[f'pos_block.{i}.proj.0.weight'] = randn(c, 1, 3, 3, std=1 / 3)
        sd[f'pos_block.{i}.proj.0.bias'] = randn(c, std=0.1)
        for j in range(depth):
            p = f'blocks.{i}.{j}.'
            num_windows = imagenet_num_windows(i, j)
            norm(p + 'norm1', c)
            linear(p + 'attn.DSA_qkv', 3 * c, c)
            if dense or num_windows > 1:
                norm(p + 'attn.win_tokens_norm', c)
                linear(p + 'attn.PSA_qk', 2 * c, c)
            if not dense and num_windows > 1:
                sd[p + 'win_tokens'] = randn(1, num_windows, 1, c, std=0.5)
            linear(p + 'attn.proj', c, c)
            norm(p + 'norm2', c)
            linear(p + 'mlp.fc1', 4 * c, c)
            linear(p + 'mlp.fc2', c, 4 * c)
        if dense:
            norm(f'norm_list.{i}', c)
        in_dims = c
    norm('norm', dims[-1])
    linear('head', num_classes, dims[-1])
    return sd


def _layer_norm(sd, name, x, eps):
    return F.layer_norm(x, x.shape[-1:], sd[name + '.weight'],
                        sd[name + '.bias'], eps)


def _linear(sd, name, x):
    return F.linear(x, sd[name + '.weight'], sd[name + '.bias'])


def _attention(q, k, v):
    scale = q.shape[-1]**-0.5
    return ((q @ k.transpose(-2, -1)) * scale).softmax(-1) @ v


def _heads(x, num_heads):
    """(..., L, C) -> (..., heads, L, C / heads)"""
    *batch, L, C = x.shape
    return x.view(*batch, L, num_heads, C // num_heads).transpose(-3, -2)


def _merge_heads(x):
    """(..., heads, L, d) -> (..., L, heads * d)"""
    return x.transpose(-3, -2).flatten(-2)


def _cut_windows(x, ws):
    """(B, H, W, C), H and W multiples of ws -> (B, nw, ws*ws, C), the
    windows in raster order."""
    B, H, W, C = x.shape
    return torch.stack([
        x[:, r:r + ws, c:c + ws].reshape(B, ws * ws, C)
        for r in range(0, H, ws) for c in range(0, W, ws)
    ], 1)


def _paste_windows(windows, H, W, ws):
    B, _, _, C = windows.shape
    out = windows.new_zeros(B, H, W, C)
    n = 0
    for r in range(0, H, ws):
        for c in range(0, W, ws):
            out[:, r:r + ws, c:c + ws] = windows[:, n].view(B, ws, ws, C)
            n += 1
    return out


def _separable_attention(sd, p, x, H, W, ws, num_heads, window_tokens):
    """The attention branch of one block; ``window_tokens`` None means no
    PSA (the ImageNet blocks that see one window)."""
    B, N, C = x.shape
    if window_tokens is None:
        t = _layer_norm(sd, p + 'norm1', x, 1e-6)
        # qkv's channels are q | k | v, each split into heads.
        q, k, v = (_heads(y, num_heads)
                   for y in _linear(sd, p + 'attn.DSA_qkv', t).chunk(3, -1))
        a = _merge_heads(_attention(q, k, v)) + t
        return _linear(sd, p + 'attn.proj', a)

    Hp, Wp = math.ceil(H / ws) * ws, math.ceil(W / ws) * ws
    padded = F.pad(x.view(B, H, W, C), (0, 0, 0, Wp - W, 0, Hp - H))
    windows = _cut_windows(padded, ws)  # B, nw, M, C
    nw = windows.shape[1]
    tokens = window_tokens(B, nw, C)  # B, nw, 1, C
    t = _layer_norm(sd, p + 'norm1', torch.cat([tokens, windows], 2), 1e-6)
    # Depthwise: attention inside every window, plus the normalised input.
    q, k, v = (_heads(y, num_heads)
               for y in _linear(sd, p + 'attn.DSA_qkv', t).chunk(3, -1))
    a = _merge_heads(_attention(q, k, v)) + t
    wt, feats = a[:, :, 0], a[:, :, 1:]
    # Pointwise: window tokens attend to each other; each head mixes its
    # channel slice of whole windows.
    wt = F.gelu(_layer_norm(sd, p + 'attn.win_tokens_norm', wt, 1e-5))
    q, k = (_heads(y, num_heads)
            for y in _linear(sd, p + 'attn.PSA_qk', wt).chunk(2, -1))
    weights = ((q @ k.transpose(-2, -1)) *
               (C // num_heads)**-0.5).softmax(-1)  # B, h, nw, nw
    d = C // num_heads
    mixed = torch.cat([
        torch.einsum('bnm,bmsc->bnsc', weights[:, h],
                     feats[..., h * d:(h + 1) * d])
        for h in range(num_heads)
    ], -1)
    out = _paste_windows(mixed + feats, Hp, Wp, ws)[:, :H, :W]
    return _linear(sd, p + 'attn.proj', out.reshape(B, N, C))


def _stage(sd, i, x, arch, window_tokens):
    """Patch embedding, blocks and PEG of stage i: NCHW in, tokens out."""
    dims, depths, heads = ARCHS[arch]
    k, s = (7, 4) if i == 0 else (3, 2)
    x = F.conv2d(x, sd[f'patch_embeds.{i}.proj.weight'],
                 sd[f'patch_embeds.{i}.proj.bias'], s, k // 2)
    B, C, H, W = x.shape
    x = _layer_norm(sd, f'patch_embeds.{i}.norm',
                    x.flatten(2).transpose(1, 2), 1e-5)
    for j in range(depths[i]):
        p = f'blocks.{i}.{j}.'
        x = x + _separable_attention(sd, p, x, H, W, window_size(i, j),
                                     heads[i], window_tokens(i, j))
        hidden = F.gelu(
            _linear(sd, p + 'mlp.fc1', _layer_norm(sd, p + 'norm2', x,
                                                   1e-6)))
        x = x + _linear(sd, p + 'mlp.fc2', hidden)
        if j == 0:
            feat = x.transpose(1, 2).reshape(B, C, H, W)
            peg = F.conv2d(
                feat,
                sd[f'pos_block.{i}.proj.0.weight'],
                sd[f'pos_block.{i}.proj.0.bias'],
                padding=1,
                groups=C)
            x = x + peg.flatten(2).transpose(1, 2)
    return x, (H, W)


@torch.no_grad()
def authors_dense_backbone(sd, x, arch):
    """The four NCHW maps of the authors' dense backbone."""

    def zero_tokens(i, j):
        return lambda B, nw, C: torch.zeros(B, nw, 1, C)

    outs = []
    for i in range(4):
        tokens, (H, W) = _stage(sd, i, x, arch, zero_tokens)
        tokens = _layer_norm(sd, f'norm_list.{i}', tokens, 1e-6)
        x = tokens.transpose(1, 2).reshape(-1, tokens.shape[-1], H, W)
        outs.append(x)
    return outs


@torch.no_grad()
def authors_imagenet_classifier(sd, x, arch):
    """The logits of the authors' ImageNet classifier (224x224 input)."""

    def learned_tokens(i, j):
        if imagenet_num_windows(i, j) == 1:
            return None
        tokens = sd[f'blocks.{i}.{j}.win_tokens']
        return lambda B, nw, C: tokens.expand(B, nw, 1, C)

    for i in range(4):
        tokens, (H, W) = _stage(sd, i, x, arch, learned_tokens)
        x = tokens.transpose(1, 2).reshape(-1, tokens.shape[-1], H, W)
    pooled = _layer_norm(sd, 'norm', tokens, 1e-6).mean(1)
    return _linear(sd, 'head', pooled)

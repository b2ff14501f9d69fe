# Copyright (c) mmsepvit contributors. All rights reserved.
import itertools
import math
import operator
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import build_norm_layer
from mmcv.cnn.bricks.drop import build_dropout
from mmcv.cnn.bricks.transformer import PatchEmbed
from mmengine.model import BaseModule, ModuleList
from mmengine.utils import to_2tuple
from mmengine.utils.dl_utils import is_norm

from mmsepvit.registry import MODELS
from mmsepvit.utils import CheckpointMismatchError, revise_on_load
from ..utils import (ConditionalPositionEncoding, GELURecomputingFFN,
                     SeparableSelfAttention)


class StageNormLayoutError(CheckpointMismatchError):
    """A checkpoint trained with its stage norms in another place than the
    model's (``stage_norms``): its stages after the first learned from maps
    of another scale."""


class SepViTBlock(BaseModule):
    """One SepViT block: separable self-attention and an MLP, each with a
    residual connection.

    The MLP is mmcv's FFN (its weights and keys) that recomputes its GELU in
    the backward pass instead of keeping it, see
    :class:`~mmsepvit.models.utils.GELURecomputingFFN`.

    Args:
        embed_dims (int): Number of channels ``C``.
        num_heads (int): Number of attention heads.
        window_size (int): Side of the attention windows in tokens.
        input_resolution (tuple[int, int], optional): The ``(H, W)`` map
            size the model is built for; see
            :class:`~mmsepvit.models.utils.SeparableSelfAttention`.
            Defaults to None.
        mlp_ratio (float): Hidden width of the MLP relative to ``C``.
            Defaults to 4.
        drop_path_rate (float): Stochastic depth rate of both residual
            branches. Defaults to 0.
        drop_rate (float): Dropout after the attention projection and in the
            MLP. Defaults to 0.
        attn_drop_rate (float): Dropout on the attention maps.
            Defaults to 0.
        norm_cfg (dict): Config of the pre-norms.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        act_cfg (dict): Activation of the MLP and of the window tokens.
            Defaults to ``dict(type='GELU')``.
        with_cp (bool): Use gradient checkpointing to save memory at the
            cost of a second forward pass. Defaults to False.
        attn_cfg (dict): Other arguments of
            :class:`~mmsepvit.models.utils.SeparableSelfAttention`
            (``window_token``, ``single_window_pwa``, ``qkv_bias``).
            Defaults to an empty dict.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 window_size: int,
                 input_resolution: Optional[Tuple[int, int]] = None,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 with_cp: bool = False,
                 attn_cfg: dict = dict(),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.with_cp = with_cp
        self.attn = SeparableSelfAttention(
            embed_dims,
            num_heads,
            window_size,
            input_resolution=input_resolution,
            attn_drop=attn_drop_rate,
            proj_drop=drop_rate,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            **attn_cfg)
        self.drop_path = build_dropout(
            dict(type='DropPath', drop_prob=drop_path_rate))
        self.ffn_norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = GELURecomputingFFN(
            embed_dims=embed_dims,
            feedforward_channels=int(embed_dims * mlp_ratio),
            num_fcs=2,
            ffn_drop=drop_rate,
            dropout_layer=dict(type='DropPath', drop_prob=drop_path_rate),
            act_cfg=act_cfg,
            add_identity=True)

    def forward(self, x: torch.Tensor,
                hw_shape: Tuple[int, int]) -> torch.Tensor:
        """``(B, H*W, C)`` tokens in, the same shape out."""

        def _inner_forward(x):
            x = x + self.drop_path(self.attn(x, hw_shape))
            return self.ffn(self.ffn_norm(x), identity=x)

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)


class SepViTStage(BaseModule):
    """A SepViT stage: an overlapping patch embedding, the blocks, and the
    conditional position encoding after the first block.

    Args:
        in_channels (int): Channels of the input map.
        embed_dims (int): Channels of the stage.
        num_heads (int): Attention heads of every block.
        window_sizes (Sequence[int]): Window size of each block.
        patch_size (int): Kernel of the patch embedding convolution, odd; it
            pads ``patch_size // 2``, so the map shrinks to
            ``ceil(H / stride)``.
        stride (int): Stride of the patch embedding.
        drop_path_rates (Sequence[float]): Stochastic depth of each block.
        input_resolution (tuple[int, int], optional): The stage's map size
            at the size the model is built for. Defaults to None.
        drop_rate (float): Dropout after the patch embedding and inside the
            blocks. Defaults to 0.
        block_cfg (dict): Other arguments of every :class:`SepViTBlock`.
            Defaults to an empty dict.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 num_heads: int,
                 window_sizes: Sequence[int],
                 patch_size: int,
                 stride: int,
                 drop_path_rates: Sequence[float],
                 input_resolution: Optional[Tuple[int, int]] = None,
                 drop_rate: float = 0.,
                 block_cfg: dict = dict(),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        # The authors' overlapping patch embeddings keep PyTorch's LN eps.
        self.patch_embed = PatchEmbed(
            in_channels=in_channels,
            embed_dims=embed_dims,
            kernel_size=patch_size,
            stride=stride,
            padding=patch_size // 2,
            norm_cfg=dict(type='LN'))
        self.pos_drop = nn.Dropout(drop_rate)
        self.blocks = ModuleList([
            SepViTBlock(
                embed_dims,
                num_heads,
                window_size,
                input_resolution=input_resolution,
                drop_path_rate=drop_path_rate,
                drop_rate=drop_rate,
                **block_cfg)
            for window_size, drop_path_rate in zip(window_sizes,
                                                   drop_path_rates)
        ])
        self.pos_block = ConditionalPositionEncoding(embed_dims)

    def forward(
        self,
        x: torch.Tensor,
        embedding_filter: Optional[Callable] = None
    ) -> Tuple[torch.Tensor, Tuple[int]]:
        """
        Args:
            x (Tensor): A map of shape ``(B, C_in, H_in, W_in)``.
            embedding_filter (Callable, optional): Applied to the patch
                embeddings before the blocks, ``(tokens, hw_shape) ->
                tokens`` (SimMIM puts its mask tokens in here).
                Defaults to None.

        Returns:
            tuple: Tokens ``(B, H*W, C)`` and the map size ``(H, W)``.
        """
        x, hw_shape = self.patch_embed(x)
        if embedding_filter is not None:
            x = embedding_filter(x, hw_shape)
        x = self.pos_drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, hw_shape)
            if i == 0:
                x = self.pos_block(x, hw_shape)
        return x, hw_shape


@MODELS.register_module()
class SepViT(BaseModule):
    """SepViT: Separable Vision Transformer.

    A PyTorch implementation of `SepViT: Separable Vision Transformer
    <https://arxiv.org/abs/2203.15380>`_, faithful to the authors' code
    (https://github.com/liwei109/SepViT): four stages at strides 4, 8, 16
    and 32, each an overlapping patch embedding, blocks of depthwise and
    pointwise separable self-attention, and a conditional position encoding
    after the stage's first block. Grouped self-attention is a block whose
    window is 14 instead of 7; by default the odd blocks of stages 2 and 3
    are grouped, as in the authors' models.

    The authors' ImageNet and dense-prediction code compute different
    networks. Three arguments choose between them, and mmsepvit's configs set
    all three (the defaults are the dense code):

    ====================  ======================  ==========================
    argument              ImageNet (configs/cls)  dense (configs/seg, det)
    ====================  ======================  ==========================
    ``window_token``      ``'per_window'``        ``'zeros'``
    ``single_window_pwa`` False                   True
    ``stage_norms``       ``'outputs'``           ``'main_path'``
    ====================  ======================  ==========================

    - **Window tokens** (``window_token``): ``'per_window'`` learns one token
      per window position at ``img_size`` (other input sizes raise),
      ``'zeros'`` uses fixed zeros, ``'shared'`` learns one token per block
      shared by all windows (works at any size; not the authors').
    - **Blocks that see one window** (``single_window_pwa``): with False,
      blocks whose window covers the whole ``img_size`` map are built as
      plain multi-head self-attention over the whole map, with no pointwise
      attention weights and no window token (at 224 these are stage 3's
      grouped blocks and stage 4). With True every block has pointwise
      attention and runs it even over a single window.
    - **Stage norms** (``stage_norms``): with ``'main_path'`` every stage
      ends with a LayerNorm ``norm_after_stage.{i}`` whose output is both
      returned and fed to the next stage's patch embedding; all four exist
      whatever ``out_indices`` returns. With ``'outputs'`` only the returned
      maps are normalised, each by its own output norm ``norm{i}``, and the
      next stage sees the map before the norm; the ImageNet classifier
      returns stage 4 alone, and ``norm3`` is the authors' final LayerNorm
      before pooling. A checkpoint of the other layout is refused when it
      loads (:class:`StageNormLayoutError`), but for an ImageNet checkpoint
      (``norm3`` alone), whose final norm becomes the dense model's
      ``norm_after_stage.3``.

    Inputs of any size work: each block zero-pads its map on the right and
    bottom to whole windows and crops the result, as the authors' dense code
    does (padded tokens are not masked).

    **Initialisation.** The authors' initialisation always runs first
    (trunc-normal linear layers, unit LayerNorms, fan-out normal
    convolutions, zero biases and window tokens); an ``init_cfg`` is applied
    over it, as the authors load their checkpoints over their own init. So
    an ImageNet checkpoint loaded into the dense model leaves the authors'
    init where it has nothing: the pointwise attention of the blocks that
    saw one window at 224, and the first three stage norms. The last takes
    the ImageNet model's final LayerNorm, the trained norm of the same
    stage-4 tokens (the authors' dense code leaves it at its init).

    Args:
        arch (str | dict): SepViT architecture. If a string, one of
            ``'lite'``, ``'tiny'``, ``'small'``, ``'base'`` (or ``'l'``,
            ``'t'``, ``'s'``, ``'b'``). If a dict, it needs the keys
            ``embed_dims``, ``depths`` and ``num_heads``, each a list of four
            ints. Defaults to ``'tiny'``.
        in_channels (int): Channels of the input images. Defaults to 3.
        window_sizes (Sequence[Sequence[int]], optional): Window size of
            every block, one list per stage. Defaults to None: 7, and 14 on
            the odd blocks of stages 2 and 3.
        window_token (str): ``'zeros'``, ``'shared'`` or ``'per_window'``.
            Defaults to ``'zeros'``.
        single_window_pwa (bool): Whether blocks that see one window at
            ``img_size`` keep pointwise attention. Defaults to True.
        stage_norms (str): ``'main_path'`` or ``'outputs'``, where the stage
            LayerNorms sit. Defaults to ``'main_path'``.
        img_size (int | tuple[int, int]): The input size the model is built
            for; only used with ``window_token='per_window'`` or
            ``single_window_pwa=False``. Defaults to 224.
        mlp_ratio (float): MLP width relative to the channels.
            Defaults to 4.
        qkv_bias (bool): Whether the q/k/v projections have a bias.
            Defaults to True.
        drop_rate (float): Dropout rate. Defaults to 0.
        attn_drop_rate (float): Attention dropout rate. Defaults to 0.
        drop_path_rate (float): Stochastic depth, rising linearly from 0 to
            this value over all blocks. Defaults to 0.1.
        out_indices (Sequence[int] | int): Stages whose maps are returned
            (negative indices count from the end). Defaults to -1.
        frozen_stages (int): Stages ``0..frozen_stages`` (with their patch
            embeddings, position encodings and stage norms) are frozen:
            eval mode and no gradients; -1 freezes nothing. Defaults to -1.
        norm_eval (bool): Put normalisation layers in eval mode during
            training, freezing the statistics of any BatchNorm. SepViT's own
            norms are LayerNorms, which have none. Defaults to False.
        with_cp (bool): Gradient checkpointing of every block.
            Defaults to False.
        norm_cfg (dict): Config of the block and stage norms.
            Defaults to ``dict(type='LN', eps=1e-6)``.
        act_cfg (dict): Activation config. Defaults to
            ``dict(type='GELU')``.
        init_cfg (dict, optional): Initialization config applied over the
            authors' initialisation, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
            Defaults to None.

    Returns (of ``forward``):
        tuple[Tensor]: One ``(B, C_i, ceil(H / s_i), ceil(W / s_i))`` map per
        ``out_indices`` entry, normalised by its stage norm, with strides
        ``s = (4, 8, 16, 32)``.

    Examples:
        >>> import torch
        >>> from mmsepvit.models import SepViT
        >>> model = SepViT(arch='tiny', out_indices=(0, 1, 2, 3)).eval()
        >>> for out in model(torch.rand(1, 3, 97, 131)):
        ...     print(tuple(out.shape))
        (1, 96, 25, 33)
        (1, 192, 13, 17)
        (1, 384, 7, 9)
        (1, 768, 4, 5)
    """
    arch_zoo = {
        **dict.fromkeys(['l', 'lite'], dict(
            embed_dims=[32, 64, 128, 256], depths=[1, 2, 6, 2],
            num_heads=[1, 2, 4, 8])),
        **dict.fromkeys(['t', 'tiny'], dict(
            embed_dims=[96, 192, 384, 768], depths=[1, 2, 6, 2],
            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[96, 192, 384, 768], depths=[1, 2, 14, 2],
            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[128, 256, 512, 1024], depths=[1, 2, 14, 2],
            num_heads=[4, 8, 16, 32])),
    }
    num_stages = 4
    # The overlapping patch embedding of each stage: the stem embeds the
    # image with a 7x7 stride-4 convolution, later stages merge with 3x3
    # stride-2 ones; the strides of the stage outputs follow.
    patch_sizes = (7, 3, 3, 3)
    patch_strides = (4, 2, 2, 2)
    strides = tuple(itertools.accumulate(patch_strides, operator.mul))
    # For the default window sizes: the window of plain and of grouped
    # blocks, and the stages that alternate them.
    window_size = 7
    group_window_size = 14
    grouped_stages = (1, 2)
    stage_norm_modes = ('main_path', 'outputs')

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 in_channels: int = 3,
                 window_sizes: Optional[Sequence[Sequence[int]]] = None,
                 window_token: str = 'zeros',
                 single_window_pwa: bool = True,
                 stage_norms: str = 'main_path',
                 img_size: Union[int, Tuple[int, int]] = 224,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1,
                 out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 act_cfg: dict = dict(type='GELU'),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.register_load_state_dict_pre_hook(revise_on_load)
        arch = self._check_arguments(arch, window_sizes, out_indices,
                                     stage_norms, frozen_stages,
                                     attn_drop_rate, drop_path_rate)
        self.embed_dims: List[int] = arch['embed_dims']
        self.depths: List[int] = arch['depths']
        self.num_heads: List[int] = arch['num_heads']
        self.window_sizes = [list(stage) for stage in window_sizes] \
            if window_sizes else [[
                self.group_window_size if
                (i in self.grouped_stages and j % 2) else self.window_size
                for j in range(depth)
            ] for i, depth in enumerate(self.depths)]
        self.out_indices = sorted(i % self.num_stages for i in (
            [out_indices] if isinstance(out_indices, int) else out_indices))
        self.in_channels = in_channels
        self.img_size = to_2tuple(img_size)
        self.window_token_mode = window_token
        self.stage_norms = stage_norms
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        # On the CPU also when the model is built on the meta device.
        dpr = torch.linspace(
            0, drop_path_rate, sum(self.depths), device='cpu').tolist()
        block_cfg = dict(
            mlp_ratio=mlp_ratio,
            attn_drop_rate=attn_drop_rate,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
            with_cp=with_cp,
            attn_cfg=dict(
                window_token=window_token,
                single_window_pwa=single_window_pwa,
                qkv_bias=qkv_bias))
        self.stages = ModuleList()
        for i in range(self.num_stages):
            first = sum(self.depths[:i])
            self.stages.append(
                SepViTStage(
                    in_channels=self.embed_dims[i - 1] if i else in_channels,
                    embed_dims=self.embed_dims[i],
                    num_heads=self.num_heads[i],
                    window_sizes=self.window_sizes[i],
                    patch_size=self.patch_sizes[i],
                    stride=self.patch_strides[i],
                    drop_path_rates=dpr[first:first + self.depths[i]],
                    input_resolution=tuple(
                        math.ceil(s / self.strides[i])
                        for s in self.img_size),
                    drop_rate=drop_rate,
                    block_cfg=block_cfg))

        def norm(i):
            return build_norm_layer(norm_cfg, self.embed_dims[i])[1]

        if stage_norms == 'main_path':
            self.norm_after_stage = ModuleList(
                norm(i) for i in range(self.num_stages))
        else:
            for i in self.out_indices:
                self.add_module(f'norm{i}', norm(i))

    def _check_arguments(self, arch, window_sizes, out_indices, stage_norms,
                         frozen_stages, *rates) -> dict:
        """The arch settings; ValueError for the arguments users get wrong
        (PyTorch and the attention check the others)."""
        if isinstance(arch, str):
            if arch.lower() not in self.arch_zoo:
                raise ValueError(
                    f'Unknown SepViT arch {arch!r}; choose one of '
                    f'{sorted(set(self.arch_zoo))} or pass a dict with the '
                    f"keys 'embed_dims', 'depths' and 'num_heads'.")
            arch = self.arch_zoo[arch.lower()]
        keys = ('embed_dims', 'depths', 'num_heads')
        if not (isinstance(arch, dict) and all(
                len(arch.get(k, ())) == self.num_stages for k in keys)):
            raise ValueError(f'A custom SepViT arch is a dict of {keys}, '
                             f'{self.num_stages} ints each; got {arch!r}.')
        arch = {k: list(arch[k]) for k in keys}
        if window_sizes is not None and [
                len(stage) for stage in window_sizes] != arch['depths']:
            raise ValueError(
                f'window_sizes must hold one list of window sizes per stage, '
                f'as long as its depth {arch["depths"]}; got '
                f'{window_sizes!r}.')
        n = self.num_stages
        indices = [out_indices] if isinstance(out_indices, int) \
            else list(out_indices)
        stages = [i % n for i in indices]
        if not indices or any(
                type(i) is not int or not -n <= i < n for i in indices):
            raise ValueError(
                f'out_indices must be stage indices 0..{n - 1} (or -{n}..-1 '
                f'from the end), an int or a non-empty sequence; got '
                f'{out_indices!r}.')
        if len(set(stages)) < len(stages):
            raise ValueError(
                f'out_indices {tuple(indices)!r} names a stage twice; name '
                f'each stage once, e.g. {tuple(sorted(set(stages)))!r}.')
        if stage_norms not in self.stage_norm_modes:
            raise ValueError(f'stage_norms must be one of '
                             f'{self.stage_norm_modes}, got {stage_norms!r}.')
        if type(frozen_stages) is not int or not -1 <= frozen_stages < n:
            raise ValueError(
                f'frozen_stages must be an int from -1 (nothing frozen) to '
                f'{n - 1} (all stages frozen), got {frozen_stages!r}.')
        # nn.Dropout checks drop_rate; the attention's dropout and mmcv's
        # DropPath take any number (and give NaN at 1).
        if not all(0 <= rate < 1 for rate in rates):
            raise ValueError(f'attn_drop_rate and drop_path_rate must be in '
                             f'[0, 1), got {rates}.')
        return arch

    @property
    def accepts_any_size(self) -> bool:
        """Whether inputs of other sizes than ``img_size`` work: with every
        window-token mode but ``'per_window'``."""
        return self.window_token_mode != 'per_window'

    def stage_norm(self, i: int) -> Optional[nn.Module]:
        """The LayerNorm over stage ``i``'s tokens: on the main path, or the
        output norm of a returned stage; None for the others."""
        if self.stage_norms == 'main_path':
            return self.norm_after_stage[i]
        return getattr(self, f'norm{i}', None)

    def revise_state_dict(self, state_dict: dict, prefix: str = '') -> None:
        """Rename and drop, in place, what this model reads differently in
        a checkpoint; :class:`StageNormLayoutError` for one of the other
        stage-norm layout. The load hook and the fit checks of
        :mod:`mmsepvit.utils.safe_checkpoint` run it.

        Args:
            state_dict (dict): The weights, this module's under ``prefix``.
            prefix (str): This module's prefix in ``state_dict``.
        """
        stages = range(self.num_stages)
        main_path_norms = [f'{prefix}norm_after_stage.{i}.' for i in stages]
        output_norms = [f'{prefix}norm{i}.' for i in stages]
        keys = list(state_dict)
        if self.stage_norms == 'main_path':
            if any(k.startswith(tuple(output_norms[:-1])) for k in keys):
                self._refuse_layout('outputs')
            # The authors' hand-off: the ImageNet model's final norm.
            self._rename(state_dict, output_norms[-1], main_path_norms[-1])
        else:
            if any(k.startswith(tuple(main_path_norms)) for k in keys):
                self._refuse_layout('main_path')
            # Output norms of stages this model does not return (a
            # distillation checkpoint learned from every stage).
            for i in set(stages) - set(self.out_indices):
                for key in keys:
                    if key.startswith(output_norms[i]):
                        del state_dict[key]
        # A SimMIM checkpoint's mask token only served pretraining.
        if not hasattr(self, 'mask_token'):
            state_dict.pop(prefix + 'mask_token', None)

    @staticmethod
    def _rename(state_dict, old, new):
        for key in [k for k in state_dict if k.startswith(old)]:
            state_dict[new + key[len(old):]] = state_dict.pop(key)

    def _refuse_layout(self, theirs):
        trained, given = ('normalised', 'raw') if theirs == 'main_path' \
            else ('raw', 'normalised')
        raise StageNormLayoutError(
            f'This checkpoint was trained with stage_norms={theirs!r} and '
            f'the model has stage_norms={self.stage_norms!r}: the stages '
            f'after the first were trained on {trained} maps and would get '
            f'{given} ones. Set stage_norms={theirs!r} in the backbone\'s '
            f'config to use these weights.')

    def init_weights(self):
        # The authors initialise every weight, then load a checkpoint over
        # it: what the checkpoint lacks keeps their init, not PyTorch's.
        self._init_weights_as_authors()
        super().init_weights()

    def _init_weights_as_authors(self):
        # No mmengine initializer gives this for grouped convolutions: the
        # authors' conv fan-out divides by the groups.
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                fan_out = (m.kernel_size[0] * m.kernel_size[1] *
                           m.out_channels // m.groups)
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self._forward_stages(x)

    def _forward_stages(
            self,
            x: torch.Tensor,
            stem_filter: Optional[Callable] = None
    ) -> Tuple[torch.Tensor, ...]:
        """The maps of ``out_indices``; ``stem_filter`` is the first
        stage's ``embedding_filter``, see :meth:`SepViTStage.forward`."""
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(
                f'SepViT expects images of shape (B, {self.in_channels}, H, '
                f'W), got a tensor of shape {tuple(x.shape)}.')
        outs = []
        for i, stage in enumerate(self.stages):
            x, (h, w) = stage(x, stem_filter if i == 0 else None)
            norm = self.stage_norm(i)
            if self.stage_norms == 'main_path':
                x = norm(x)
            if i in self.out_indices:
                out = x if self.stage_norms == 'main_path' else norm(x)
                outs.append(out.unflatten(1, (h, w)).permute(0, 3, 1, 2)
                            .contiguous())
            x = x.transpose(1, 2).unflatten(2, (h, w))
        return tuple(outs)

    def train(self, mode: bool = True):
        super().train(mode)
        for i in range(self.frozen_stages + 1):
            for module in (self.stages[i], self.stage_norm(i)):
                if module is not None:
                    module.eval()
                    module.requires_grad_(False)
        if mode and self.norm_eval:
            for m in self.modules():
                if is_norm(m):
                    m.eval()
        return self

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Get the layer-wise depth of a parameter, for layer-wise learning
        rate decay.

        Layer 0 is the stem, block ``j`` of stage ``i`` is layer
        ``sum(depths[:i]) + j + 1``; a patch merging belongs to the last
        block before it, a position encoding to the block before it and a
        stage norm to its stage's last block.

        Args:
            param_name (str): The name of the parameter.
            prefix (str): The prefix of the backbone's parameters, e.g.
                ``'backbone.'``. Defaults to ''.

        Returns:
            Tuple[int, int]: The layer-wise depth and the number of layers.
        """
        num_layers = sum(self.depths) + 2
        if not param_name.startswith(prefix):
            # Heads and necks come after the backbone.
            return num_layers - 1, num_layers
        names = param_name[len(prefix):].split('.')
        if names[0] == 'norm_after_stage':
            return sum(self.depths[:int(names[1]) + 1]), num_layers
        if names[0].startswith('norm'):
            return sum(self.depths[:int(names[0][4:]) + 1]), num_layers
        first = sum(self.depths[:int(names[1])])
        if names[2] == 'patch_embed':
            return first, num_layers
        if names[2] == 'pos_block':
            return first + 1, num_layers
        return first + int(names[3]) + 1, num_layers  # 'blocks'

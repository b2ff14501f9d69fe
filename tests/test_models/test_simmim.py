# Copyright (c) mmsepvit contributors. All rights reserved.
"""SimMIM for SepViT: masked pixels never reach the encoder, pretraining
lowers the reconstruction loss, and the Runner's checkpoint initialises the
backbones of the cls, seg and det configs directly, per-window tokens
resampled to another input size."""
import numpy as np
import pytest
import torch
from cli_helpers import (DET_DEMO, NO_WORKERS, REPO, SEG_DEMO,
                         SIMMIM_SMALL_DATA, TRAIN, run_tools)
from mmengine.config import Config

from mmsepvit.apis import build_model
from mmsepvit.models import SepViT, SimMIMSepViT
from mmsepvit.models.utils.separable_attention import resample_window_tokens

IMAGENET_SIMMIM = str(REPO / 'configs' / 'selfsup' /
                      'simmim_sepvit_t_in1k_192px_100e.py')
CLS_LITE = str(REPO / 'configs' / 'cls' / 'sepvit_lite_in1k.py')
VISUALIZE = str(REPO / 'tools' / 'analysis' / 'visualize_simmim.py')
# The authors' ImageNet model, as configs/_base_/models/
# sepvit_imagenet_backbone.py builds it.
IMAGENET_MODE = dict(
    window_token='per_window', single_window_pwa=False, stage_norms='outputs')


def block_mask(batch, height, width, ratio=0.6, block=8, seed=0):
    """Random ``block``x``block`` token blocks (32 pixels) masked, one mask
    value per stride-4 token, as SimMIM's mask generator draws them."""
    generator = torch.Generator().manual_seed(seed)
    rows, cols = -(-height // (4 * block)), -(-width // (4 * block))
    blocks = (torch.rand(batch, rows, cols, generator=generator) <
              ratio).long()
    mask = blocks.repeat_interleave(block, 1).repeat_interleave(block, 2)
    return mask[:, :-(-height // 4), :-(-width // 4)]


def pixels_of(mask, shape):
    return mask.repeat_interleave(4, 1).repeat_interleave(
        4, 2)[:, :shape[2], :shape[3]].bool().unsqueeze(1).expand(shape)


@pytest.fixture(scope='module')
def encoder():
    torch.manual_seed(0)
    model = SimMIMSepViT(arch='lite', out_indices=(0, 1, 2, 3))
    model.init_weights()
    return model.eval()


def test_masked_pixels_never_reach_the_encoder(encoder):
    shape = (2, 3, 97, 131)  # not whole windows: padding is involved too
    images = torch.randn(shape)
    mask = block_mask(2, 97, 131)
    hidden = pixels_of(mask, shape)
    assert 0 < mask.float().mean() < 1
    changed = torch.where(hidden, torch.randn(shape) * 5, images)

    with torch.no_grad():
        outputs = encoder(images, mask)
        assert all(
            torch.equal(a, b)
            for a, b in zip(outputs, encoder(changed, mask)))
        # A visible pixel does reach it.
        visible = (~hidden).nonzero()[0].tolist()
        touched = images.clone()
        touched[tuple(visible)] += 1
        assert not torch.equal(encoder(touched, mask)[0], outputs[0])

        # Why the pixels are hidden too: with the mask token alone, the 7x7
        # stem of a visible token next to a masked block sees masked pixels.
        def mask_tokens_only(tokens, hw_shape):
            weight = mask.flatten(1).unsqueeze(-1).float()
            return tokens * (1 - weight) + encoder.mask_token * weight

        leaky = encoder._forward_stages(images, mask_tokens_only)
        leaky_changed = encoder._forward_stages(changed, mask_tokens_only)
        assert not torch.equal(leaky[0], leaky_changed[0])


def test_without_a_mask_it_is_sepvit(encoder):
    plain = SepViT(arch='lite', out_indices=(0, 1, 2, 3)).eval()
    plain.load_state_dict(encoder.state_dict(), strict=True)
    images = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        assert all(
            torch.equal(a, b) for a, b in zip(encoder(images), plain(images)))


def test_a_mask_of_another_grid_is_refused(encoder):
    with pytest.raises(ValueError, match=r'a mask of shape \(2, 16, 16\)'):
        encoder(torch.randn(2, 3, 64, 64), torch.zeros(2, 8, 8))


@pytest.mark.parametrize(
    'neck', [None, dict(type='mmsepvit.SimMIMConvDecoder')],
    ids=['linear_decoder', 'conv_decoder'])
def test_pretraining_steps_lower_the_reconstruction_loss(
        shapes_workspace, neck):
    """The small-data config's model and optimizer on generated images,
    with SimMIM's linear decoder and with mmsepvit's non-linear one."""
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(SIMMIM_SMALL_DATA)
    cfg.model.neck.update(neck or {})
    torch.manual_seed(0)
    model = build_model(cfg)
    assert type(model.neck).__name__ == (
        'SimMIMConvDecoder' if neck else 'SimMIMLinearDecoder')
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    images = sorted((shapes_workspace / 'data' / 'shapes' / 'ade' / 'images' /
                     'training').glob('*.jpg'))[:4]
    import mmcv
    inputs = [
        torch.from_numpy(mmcv.imresize(mmcv.imread(str(p)),
                                       (96, 96))).permute(2, 0, 1)
        for p in images
    ]
    batch = dict(
        inputs=torch.stack(inputs),
        data_samples=[
            DataSample().set_mask(mask) for mask in block_mask(4, 96, 96)
        ])

    def loss():
        with torch.no_grad():
            return model(**model.data_preprocessor(batch), mode='loss')['loss']

    model.train()
    before = loss()
    for _ in range(8):
        model.train_step(batch, optim_wrapper)
    assert loss() < 0.8 * before


@pytest.mark.parametrize('neck,neighbours,million_params', [
    (dict(type='SimMIMLinearDecoder'), False, 0.8),
    (dict(type='mmsepvit.SimMIMConvDecoder'), True, 2.8),
])
def test_which_features_each_decoder_predicts_a_patch_from(
        neck, neighbours, million_params):
    """SimMIM's decoder: a 32x32 patch from its own feature vector only;
    the conv decoder: from its 3x3 neighbourhood too."""
    from mmpretrain.registry import MODELS
    decoder = MODELS.build(dict(neck, in_channels=256, encoder_stride=32))
    assert round(sum(p.numel() for p in decoder.parameters()) / 1e6,
                 1) == million_params
    features = torch.randn(1, 256, 4, 4)
    changed = features.clone()
    changed[:, :, 1, 1] += 1
    with torch.no_grad():
        moved = (decoder(changed) - decoder(features)).abs().amax(1)[0] > 0
    patches = moved.view(4, 32, 4, 32).any(3).any(1)
    expected = torch.zeros(4, 4, dtype=torch.bool)
    expected[0:3, 0:3] = neighbours
    expected[1, 1] = True
    assert torch.equal(patches, expected)


def test_a_decoder_kernel_that_would_shift_the_map_is_refused():
    from mmsepvit.models import SimMIMConvDecoder
    with pytest.raises(ValueError, match='kernel_size must be odd'):
        SimMIMConvDecoder(256, 32, kernel_size=2)


@pytest.fixture(scope='module')
def simmim_checkpoint(shapes_workspace):
    """A checkpoint tools/train.py wrote for the small-data config on the
    generated ADE-layout images (no labels), and the tool's output."""
    work_dir = shapes_workspace / 'work_simmim'
    (code, out), = run_tools([[
        TRAIN, SIMMIM_SMALL_DATA, '--work-dir', work_dir, '--cfg-options',
        'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
        *NO_WORKERS[:2]
    ]], shapes_workspace,
        SIMMIM_IMAGES=str(shapes_workspace / 'data' / 'shapes' / 'ade' /
                          'images' / 'training'))
    assert code == 0, out[-3000:]
    return work_dir / 'iter_2.pth', out


def backbone_weights(checkpoint_file):
    state_dict = torch.load(checkpoint_file, weights_only=False)['state_dict']
    return {
        key[len('backbone.'):]: value
        for key, value in state_dict.items() if key.startswith('backbone.')
    }


def pretrained(config, checkpoint_file, **backbone):
    """The config's model, its backbone initialised from the checkpoint as
    a user's config does it."""
    cfg = Config.fromfile(config)
    cfg.model.backbone.update(
        backbone,
        init_cfg=dict(
            type='Pretrained',
            checkpoint=str(checkpoint_file),
            prefix='backbone.'))
    model = build_model(cfg)
    model.init_weights()
    return model


@pytest.mark.slow
def test_pretraining_shows_progress_and_hands_off_to_seg_and_det(
        simmim_checkpoint):
    checkpoint_file, out = simmim_checkpoint
    assert 'Iter(train) [1/2]' in out and 'Iter(train) [2/2]' in out
    assert 'loss:' in out
    weights = backbone_weights(checkpoint_file)
    assert 'mask_token' in weights
    for config in (SEG_DEMO, DET_DEMO):
        backbone = pretrained(config, checkpoint_file).backbone
        # Strictly: every weight, nothing left out but the mask token.
        state = backbone.state_dict()
        assert sorted(state) == sorted(set(weights) - {'mask_token'})
        assert all(torch.equal(state[k], weights[k]) for k in state), config
        backbone.load_state_dict(weights, strict=True)
        # No size-dependent weights in the dense model: any input size.
        with torch.no_grad():
            output = backbone(torch.randn(1, 3, 97, 131))[0]
            assert output.shape[2:] == (25, 33)


@pytest.mark.slow
def test_visualisation_shows_the_masked_pixels_reconstructed(
        simmim_checkpoint, shapes_workspace):
    import mmcv
    checkpoint_file, _ = simmim_checkpoint
    image = next((shapes_workspace / 'data' / 'shapes' / 'ade' / 'images' /
                  'validation').glob('*.jpg'))
    out = shapes_workspace / 'simmim.png'
    (code, output), = run_tools(
        [[VISUALIZE, SIMMIM_SMALL_DATA, checkpoint_file, image, '--out', out]],
        shapes_workspace)
    assert code == 0, output[-3000:]
    drawing = mmcv.imread(str(out), channel_order='rgb')
    assert drawing.shape == (192, 3 * 192, 3)
    original, masked, reconstructed = np.split(drawing, 3, axis=1)
    grey = (masked == 127).all(-1)
    assert 0.3 < grey.mean() < 0.9  # mask ratio 0.6 of 32x32 patches
    # Visible pixels are the image's; masked ones the model's prediction.
    assert (reconstructed[~grey] == original[~grey]).all()
    assert (reconstructed[grey] != original[grey]).any()
    # The wrong config: another task's, another decoder's.
    other_decoder = shapes_workspace / 'simmim_conv_decoder.py'
    other_decoder.write_text(
        f'_base_ = [{SIMMIM_SMALL_DATA!r}]\n'
        "model = dict(neck=dict(type='mmsepvit.SimMIMConvDecoder'))\n")
    (code, output), (decoder_code, decoder_output) = run_tools(
        [[VISUALIZE, SEG_DEMO, checkpoint_file, image, '--out', out],
         [VISUALIZE, other_decoder, checkpoint_file, image, '--out', out]],
        shapes_workspace)
    assert code == 1 and 'no SimMIMMaskGenerator' in output
    assert decoder_code == 1 and 'Traceback' not in decoder_output
    assert 'does not fit the model: the model has neck.hidden' in (
        decoder_output) and 'the config the checkpoint was trained with' in (
            decoder_output), decoder_output[-2000:]


def independent_resampling(tokens, source, target):
    """mmpretrain's position-embedding resampling of ViT / Swin."""
    from mmpretrain.models.utils import resize_pos_embed
    return resize_pos_embed(
        tokens[None], source, target, mode='bicubic',
        num_extra_tokens=0)[0]


@pytest.fixture(scope='module')
def imagenet_simmim_checkpoint(tmp_path_factory):
    """A Runner-style checkpoint of the ImageNet SimMIM recipe's model
    (Lite at 192x192), with random per-window tokens."""
    cfg = Config.fromfile(IMAGENET_SIMMIM)
    cfg.model.backbone.arch = 'lite'
    cfg.model.neck.in_channels = 256
    torch.manual_seed(0)
    model = build_model(cfg)
    model.init_weights()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith('window_token'):
                param.normal_()
    path = tmp_path_factory.mktemp('imagenet_simmim') / 'epoch_800.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


@pytest.mark.parametrize('size', [224, 384])
def test_imagenet_pretraining_hands_off_to_cls_at_another_size(
        imagenet_simmim_checkpoint, size):
    import logging

    from mmengine.logging import MMLogger
    weights = backbone_weights(imagenet_simmim_checkpoint)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        backbone = pretrained(CLS_LITE, imagenet_simmim_checkpoint,
                              img_size=size).backbone
    finally:
        logger.removeHandler(handler)
    log = '\n'.join(record.getMessage() for record in records)
    state = backbone.state_dict()
    resampled = [k for k in state if k.endswith('window_token')]
    assert resampled
    for key in resampled:
        if key not in weights:  # a block that saw one window at 192
            continue
        grid = backbone.get_submodule(key.rsplit('.', 1)[0]).grid
        source = weights[key]
        side = int(source.size(0)**0.5)
        assert side * side == source.size(0)
        expected = independent_resampling(source, (side, side), grid)
        assert torch.allclose(state[key], expected, atol=1e-6), key
    for key in set(state) & set(weights) - set(resampled):
        assert torch.equal(state[key], weights[key]), key
    if size == 224:
        # Same blocks as at 192: loads strictly, only stage 0's grid moved.
        assert sorted(state) == sorted(set(weights) - {'mask_token'})
        assert backbone.stages[0].blocks[0].attn.grid == (8, 8)
        assert 'missing keys' not in log and 'unexpected key' not in log
    else:
        # At 384 stage 2's grouped blocks and stage 3 see several windows and
        # get pointwise attention the 192 model has not: named.
        missing = sorted(set(state) - set(weights))
        assert 'stages.2.blocks.1.attn.pwa_qk.weight' in missing
        assert 'missing keys' in log and all(key in log for key in missing)
        with pytest.raises(RuntimeError,
                           match='stages.2.blocks.1.attn.pwa_qk'):
            backbone.load_state_dict(weights, strict=True)


def test_window_tokens_of_a_non_square_grid():
    tokens = torch.randn(12, 5)
    # 12 tokens taken on the 3:4 grid of the target.
    expected = independent_resampling(tokens, (3, 4), (6, 8))
    assert torch.allclose(resample_window_tokens(tokens, (6, 8)), expected,
                          atol=1e-6)
    assert resample_window_tokens(tokens, (3, 4)) is tokens
    with pytest.raises(ValueError, match='Cannot lay 7 window tokens'):
        resample_window_tokens(torch.randn(7, 5), (2, 3))


def test_only_the_mask_token_is_dropped():
    """Other keys a checkpoint has and the model has not are reported."""
    model = SepViT(arch='lite', img_size=224, **IMAGENET_MODE)
    with pytest.raises(RuntimeError, match='Unexpected key.*"extra"'):
        model.load_state_dict(
            dict(model.state_dict(), extra=torch.zeros(1)), strict=True)

# Copyright (c) mmsepvit contributors. All rights reserved.
"""Write the fixtures ``tests/fixtures/sepvit_v1_{main_path,outputs}.pth``:
checkpoints of a small SepViT in each stage-norm layout as mmsepvit wrote
them before version 2 of the module (``norm{i}`` in both layouts and a
``stage_norm_layout`` buffer), with an input and the outputs it gave.

Run it with an mmsepvit of commit ed11237 (or earlier, down to the
buffer's introduction) on the path, e.g.::

    git worktree add /tmp/mmsepvit-v1 ed11237
    PYTHONPATH=/tmp/mmsepvit-v1 python tests/make_sepvit_v1_checkpoints.py
"""
from pathlib import Path

import torch
from torch import nn

from mmsepvit.models import SepViT

ARCH = dict(embed_dims=[8, 16, 16, 16], depths=[1, 2, 2, 1],
            num_heads=[1, 1, 2, 2])


class Whole(nn.Module):
    """A model with the backbone under ``backbone.``, as a Runner saves."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone


def main():
    for layout in SepViT.stage_norm_modes:
        torch.manual_seed(0)
        backbone = SepViT(ARCH, stage_norms=layout, out_indices=(0, 1, 2, 3),
                          drop_path_rate=0.).eval()
        backbone.init_weights()
        with torch.no_grad():  # norms that change the outputs
            for name, param in backbone.named_parameters():
                if name.startswith('norm'):
                    param.normal_()
        inputs = torch.rand(1, 3, 40, 56)
        with torch.no_grad():
            outputs = list(backbone(inputs))
        torch.save(
            dict(state_dict=Whole(backbone).state_dict(), inputs=inputs,
                 outputs=outputs, stage_norms=layout),
            Path(__file__).parent / 'fixtures' / f'sepvit_v1_{layout}.pth')


if __name__ == '__main__':
    main()

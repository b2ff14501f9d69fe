# Copyright (c) mmsepvit contributors. All rights reserved.
"""Everything that differs between the host toolboxes, in one table.

The tools, the demo, the FLOPs counter, the model index and the tests read
:data:`HOSTS`; supporting a fourth toolbox means adding one entry. Keys are
the configs' ``default_scope``.
"""
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, Optional, Tuple

from mmsepvit.utils import UserError


class UnknownScopeError(UserError, ValueError):
    """A config's ``default_scope`` names no toolbox mmsepvit serves."""


def resolve(reference: str) -> Any:
    """The object a ``'module:name'`` reference names."""
    module, name = reference.split(':')
    return getattr(import_module(module), name)


@dataclass(frozen=True)
class HostToolbox:
    """What mmsepvit needs to know about one host toolbox.

    Args:
        scope (str): Its registry scope, the configs' ``default_scope``.
        config_folder (str): Our configs for it, under ``configs/``.
        task (str): The model-index task of those configs.
        flops_shape (tuple[int, int], optional): Default input (H, W) for
            FLOPs; None: the backbone's ``img_size`` (a square).
        flops_whole_model (bool): FLOPs count the whole model (else the
            backbone and neck, whose cost depends only on the input size).
        inferencer (str): ``'module:Class'`` of its inferencer.
        weights_arg (str): The inferencer's keyword for the checkpoint.
        no_weights: What that keyword takes for "no checkpoint".
        inferencer_kwargs (dict): More keywords for the inferencer.
        draw (str): ``'module:function'`` of
            ``draw(inferencer, image, score_thr)`` -> RGB array.
        results_dump (str): ``'module:Class'`` of the metric its own
            ``tools/test.py --out`` appends to dump the predictions.
        primary_metric (str): The metric its evaluators report that task
            comparisons use.
        export_graphs (tuple): ``('module:ModelClass', graph kind)`` pairs:
            which ONNX graph (``mmsepvit.deployment``) exports which models.
        export_shape (tuple[int, int], optional): Default ONNX export input
            (H, W); None: the backbone's ``img_size``.
        show_flag (str): The visualisation hook's switch for drawing.
        show_dir_key (str): Dotted config key that takes ``--show-dir``.
        default_tta_model (dict, optional): The TTA its own test tool uses
            when a config defines none (a flip); None: it has none.
        tta_meta_keys (tuple[str]): Meta keys the flip adds to the packer.
    """
    scope: str
    config_folder: str
    task: str
    flops_shape: Optional[Tuple[int, int]]
    flops_whole_model: bool
    inferencer: str
    weights_arg: str
    no_weights: object
    draw: str
    results_dump: str
    primary_metric: str
    export_graphs: Tuple[Tuple[str, str], ...]
    export_shape: Optional[Tuple[int, int]]
    show_flag: str
    show_dir_key: str
    default_tta_model: Optional[dict] = None
    tta_meta_keys: Tuple[str, ...] = ()
    inferencer_kwargs: dict = field(default_factory=dict)

    def build_inferencer(self, cfg, checkpoint: Optional[str], device: str):
        inferencer_class = resolve(self.inferencer)
        weights = checkpoint or self.no_weights
        return inferencer_class(
            cfg,
            device=device,
            **{self.weights_arg: weights},
            **self.inferencer_kwargs)


HOSTS = {
    host.scope: host
    for host in (
        HostToolbox(
            scope='mmpretrain',
            config_folder='cls',
            task='Image Classification',
            flops_shape=None,
            flops_whole_model=True,
            inferencer='mmpretrain.apis:ImageClassificationInferencer',
            weights_arg='pretrained',
            no_weights=False,
            draw='mmsepvit.apis.inference:draw_cls',
            results_dump='mmengine.evaluator:DumpResults',
            primary_metric='accuracy/top1',
            export_graphs=(('mmpretrain.models:ImageClassifier',
                            'classifier'), ),
            export_shape=None,
            show_flag='enable',
            show_dir_key='default_hooks.visualization.out_dir',
            default_tta_model=dict(type='AverageClsScoreTTA')),
        HostToolbox(
            scope='mmseg',
            config_folder='seg',
            task='Semantic Segmentation',
            flops_shape=(512, 512),
            flops_whole_model=False,
            inferencer='mmseg.apis:MMSegInferencer',
            weights_arg='weights',
            no_weights=None,
            draw='mmsepvit.apis.inference:draw_seg',
            results_dump='mmengine.evaluator:DumpResults',
            primary_metric='mIoU',
            export_graphs=(('mmseg.models:BaseSegmentor', 'segmentor'), ),
            export_shape=(512, 512),
            show_flag='draw',
            show_dir_key='visualizer.save_dir'),
        HostToolbox(
            scope='mmdet',
            config_folder='det',
            task='Object Detection',
            flops_shape=(800, 1344),
            flops_whole_model=False,
            inferencer='mmdet.apis:DetInferencer',
            weights_arg='weights',
            no_weights=None,
            inferencer_kwargs=dict(show_progress=False),
            draw='mmsepvit.apis.inference:draw_det',
            results_dump='mmdet.evaluation:DumpDetResults',
            primary_metric='coco/bbox_mAP',
            export_graphs=(('mmdet.models:SingleStageDetector',
                            'single_stage_detector'),
                           ('mmdet.models:TwoStageDetector',
                            'two_stage_detector')),
            export_shape=(512, 512),
            show_flag='draw',
            show_dir_key='default_hooks.visualization.test_out_dir',
            default_tta_model=dict(
                type='DetTTAModel',
                tta_cfg=dict(
                    nms=dict(type='nms', iou_threshold=0.5),
                    max_per_img=100)),
            tta_meta_keys=('flip', 'flip_direction')),
    )
}


def host_of(scope: Optional[str]) -> HostToolbox:
    """The :class:`HostToolbox` of a config's ``default_scope``;
    :class:`UnknownScopeError` naming the supported scopes for any other."""
    if scope not in HOSTS:
        raise UnknownScopeError(f'unknown default_scope {scope!r}; mmsepvit '
                                f'supports {", ".join(sorted(HOSTS))}.')
    return HOSTS[scope]

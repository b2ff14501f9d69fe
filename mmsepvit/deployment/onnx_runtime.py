# Copyright (c) mmsepvit contributors. All rights reserved.
"""Run a graph written by :func:`~mmsepvit.deployment.export_onnx` in
onnxruntime, with the host toolbox's own pre- and post-processing."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from mmsepvit.utils import UnusableInputError
from mmsepvit.utils.compat import head_predictions

from .onnx_export import (CLASSIFIER, INPUT_NAME, SEGMENTOR,
                          SINGLE_STAGE_DETECTOR, TWO_STAGE_DETECTOR,
                          deploy_graph, output_groups, read_metadata)

# Fastest first; onnxruntime builds list only those they support.
PREFERRED_PROVIDERS = ('TensorrtExecutionProvider', 'CUDAExecutionProvider',
                       'CPUExecutionProvider')


def default_providers() -> List[str]:
    """TensorRT and CUDA where this onnxruntime build has them, else CPU."""
    import onnxruntime
    available = onnxruntime.get_available_providers()
    return [name for name in PREFERRED_PROVIDERS if name in available]


def inference_session(onnx_file: str,
                      providers: Optional[Sequence[str]] = None,
                      num_threads: Optional[int] = None):
    """An ``onnxruntime.InferenceSession`` for ``onnx_file``, whose threads
    stop as soon as a run returns.

    Args:
        onnx_file (str): The exported graph.
        providers (Sequence[str], optional): Execution providers, best
            first. Defaults to :func:`default_providers`.
        num_threads (int, optional): Threads of the CPU provider; None lets
            onnxruntime choose. Defaults to None.
    """
    import onnxruntime
    from onnxruntime.capi.onnxruntime_pybind11_state import InvalidProtobuf
    from onnxruntime.capi.onnxruntime_pybind11_state import \
        NotImplemented as OperatorNotImplemented
    options = onnxruntime.SessionOptions()
    # By default the CPU provider's threads spin on for tens of milliseconds
    # after a run returns, taking the cores from what runs next: the host
    # toolbox's post-processing, a two-stage detector's RoI stages, another
    # session. Stopping them as a run returns does not slow a run measured
    # alone (docs/deploy.md).
    options.add_session_config_entry('session.force_spinning_stop', '1')
    if num_threads is not None:
        options.intra_op_num_threads = num_threads
    providers = list(providers or default_providers())
    try:
        return onnxruntime.InferenceSession(
            onnx_file, sess_options=options, providers=providers)
    except InvalidProtobuf as error:
        raise UnusableInputError(
            f'{onnx_file} is not an ONNX model: {error}')
    except OperatorNotImplemented as error:
        # onnxruntime's fusions can emit operators only some providers
        # implement (a GroupNorm fused from InstanceNorm: CUDA only).
        raise UnusableInputError(
            f'{onnx_file} holds an operator that the providers {providers} '
            f'do not implement: {error}. If it was exported with '
            f'--onnxruntime-fusions, export it without them for these '
            f'providers.')


class OnnxRuntimeModel(BaseModel):
    """A host toolbox's model whose network runs as an exported graph in
    onnxruntime.

    The data preprocessor before the graph and the post-processing after it
    (class scores, resizing the logits to the original image, box decoding
    and NMS) are the toolbox model's own. A two-stage detector's RoI stages,
    which are not in the graph, run in PyTorch from ``model``'s weights.

    Args:
        onnx_file (str): Written by :func:`export_onnx` for ``model``'s
            config.
        model (nn.Module): The config's model (weights needed only for a
            two-stage detector's RoI stages).
        providers (Sequence[str], optional): onnxruntime execution
            providers. Defaults to :func:`default_providers`.
        num_threads (int, optional): Threads of the CPU provider.
            Defaults to None (onnxruntime's choice).
    """

    def __init__(self,
                 onnx_file: str,
                 model: nn.Module,
                 providers: Optional[Sequence[str]] = None,
                 num_threads: Optional[int] = None):
        super().__init__(data_preprocessor=model.data_preprocessor)
        self.session = inference_session(onnx_file, providers, num_threads)
        metadata = read_metadata(self.session)
        kind = deploy_graph(model).kind
        if 'mmsepvit_graph' not in metadata:
            raise UnusableInputError(
                f'{onnx_file} was not written by '
                f'tools/deployment/pytorch2onnx.py: it does not say which '
                f'outputs it has.')
        if metadata['mmsepvit_graph'] != kind:
            raise UnusableInputError(
                f'{onnx_file} holds a {metadata["mmsepvit_graph"]!r} '
                f'graph, but the config builds a {kind!r} '
                f'({type(model).__name__}). Use the config it was exported '
                f'from.')
        self._check_classes(onnx_file, model, kind)
        self.model = model.eval()
        self.kind = kind
        self.dataset_meta = self._dataset_meta(metadata)
        self.output_groups = output_groups(
            [output.name for output in self.session.get_outputs()])

    def _check_classes(self, onnx_file: str, model: nn.Module,
                       kind: str) -> None:
        """Refuse a classifier's or segmentor's graph whose logits have
        another number of classes than the config's head: a graph of
        another config, whose predictions the config's post-processing and
        metric would misread."""
        heads = {CLASSIFIER: ('head', 'num_classes'),
                 SEGMENTOR: ('decode_head', 'out_channels')}
        if kind not in heads:
            return
        head, attribute = heads[kind]
        expected = getattr(getattr(model, head), attribute)
        classes = self.session.get_outputs()[0].shape[1]
        if isinstance(classes, int) and classes != expected:
            raise UnusableInputError(
                f'{onnx_file} predicts {classes} classes, but the config\'s '
                f'model predicts {expected}: it was exported from another '
                f'config. Use the config it was exported from.')

    @staticmethod
    def _dataset_meta(metadata: dict) -> Optional[dict]:
        """The exported ``dataset_meta`` with the tuples JSON made lists
        (the visualisers take a colour only as a tuple)."""
        meta = metadata.get('dataset_meta')
        if meta is None:
            return None
        meta = dict(meta)
        if 'classes' in meta:
            meta['classes'] = tuple(meta['classes'])
        if 'palette' in meta:
            meta['palette'] = [tuple(color) for color in meta['palette']]
        return meta

    def run_graph(self, inputs: torch.Tensor) -> Dict[str, List[torch.Tensor]]:
        """The graph's outputs for a preprocessed batch, grouped by name
        (``{'cls_score': [level 0, level 1, ...], ...}``)."""
        expected = self.session.get_inputs()[0].shape
        for dim, (size, fixed) in enumerate(zip(inputs.shape, expected)):
            if isinstance(fixed, int) and size != fixed:
                raise UnusableInputError(
                    f'The graph was exported for inputs of shape {expected}; '
                    f'this batch is {tuple(inputs.shape)} (dimension {dim} '
                    f'differs). Export with --dynamic for other sizes.')
        arrays = self.session.run(
            None, {INPUT_NAME: inputs.detach().float().cpu().numpy()})
        tensors = [torch.from_numpy(a).to(inputs.device) for a in arrays]
        return {
            name: [tensors[i] for i in indices]
            for name, indices in self.output_groups.items()
        }

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[list] = None,
                mode: str = 'predict'):
        """Predictions for a preprocessed batch, as the toolbox model's
        ``predict`` returns them."""
        if mode != 'predict':
            raise ValueError(
                f"An exported graph only predicts; got mode={mode!r}.")
        if data_samples is None:
            raise ValueError('The post-processing needs the data samples '
                             'that the data preprocessor returns.')
        outputs = self.run_graph(inputs)
        model = self.model
        if self.kind == CLASSIFIER:
            return head_predictions(model.head, outputs['logits'][0],
                                    data_samples)
        if self.kind == SEGMENTOR:
            return model.postprocess_result(outputs['seg_logits'][0],
                                            data_samples)
        img_metas = [sample.metainfo for sample in data_samples]
        if self.kind == SINGLE_STAGE_DETECTOR:
            results = model.bbox_head.predict_by_feat(
                outputs['cls_score'],
                outputs['bbox_pred'],
                outputs.get('score_factor'),
                batch_img_metas=img_metas,
                rescale=True)
        elif self.kind == TWO_STAGE_DETECTOR:
            with torch.no_grad():
                proposals = model.rpn_head.predict_by_feat(
                    outputs['rpn_cls_score'],
                    outputs['rpn_bbox_pred'],
                    batch_img_metas=img_metas,
                    rescale=False)
                results = model.roi_head.predict(
                    tuple(outputs['feature']),
                    proposals,
                    data_samples,
                    rescale=True)
        return model.add_pred_to_datasample(data_samples, results)

# Copyright (c) mmsepvit contributors. All rights reserved.
"""What the tests check of each host toolbox beyond what mmsepvit reads
from mmsepvit.hosts.HOSTS: its PyPI package, the folders of our configs for
it (a folder may hold several toolboxes' configs), the model-index tasks
its results report, where its models keep ``num_classes``, and the data
samples' field that holds a prediction."""
from dataclasses import dataclass
from typing import Tuple

from mmsepvit.hosts import HOSTS


@dataclass(frozen=True)
class HostFacts:
    package: str
    folders: Tuple[str, ...]
    tasks: Tuple[str, ...]
    num_classes_keys: Tuple[str, ...]
    prediction_field: str

    def num_classes(self, model_cfg) -> int:
        for key in self.num_classes_keys:
            node = model_cfg
            for part in key.split('.'):
                node = node.get(part) if node is not None else None
            if node is not None:
                return node
        raise KeyError(f'no num_classes under {self.num_classes_keys}')


FACTS = {
    'mmpretrain':
    HostFacts('mmpretrain', ('cls', 'selfsup', 'distill'),
              ('Image Classification', ), ('head.num_classes', ),
              'pred_score'),
    'mmseg':
    HostFacts('mmsegmentation', ('seg', 'distill'),
              ('Semantic Segmentation', ), ('decode_head.num_classes', ),
              'pred_sem_seg'),
    'mmdet':
    HostFacts('mmdet', ('det', 'distill'),
              ('Object Detection', 'Instance Segmentation'),
              ('bbox_head.num_classes', 'roi_head.bbox_head.num_classes'),
              'pred_instances'),
}
assert list(FACTS) == list(HOSTS)
assert all(FACTS[s].folders[0] == h.config_folder for s, h in HOSTS.items())
assert all(FACTS[s].tasks[0] == h.task for s, h in HOSTS.items())
# Our config folders, in the order of HOSTS, each once.
CONFIG_FOLDERS = list(
    dict.fromkeys(folder for facts in FACTS.values()
                  for folder in facts.folders))

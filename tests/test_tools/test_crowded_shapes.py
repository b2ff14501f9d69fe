# Copyright (c) mmsepvit contributors. All rights reserved.
"""The crowded detection set is what make_shapes_data.py --crowded says:
15-40 shapes per image, mostly COCO-small, touching but not overlapping,
in colours that do not tell the class, in the COCO layout alone, the same
for the same seed."""
import json
import subprocess
import sys
from collections import defaultdict

import cv2
import numpy as np

from tests.cli_helpers import REPO, import_tool

TOOL = str(REPO / 'tools' / 'misc' / 'make_shapes_data.py')
make_crowded_shapes_dataset = import_tool(
    REPO / 'tools' / 'misc' / 'shapes_data.py').make_crowded_shapes_dataset


def _write(root):
    subprocess.run([
        sys.executable, TOOL, '--crowded', '--root',
        str(root), '--num-train', '6', '--num-val', '2'
    ],
                   check=True,
                   capture_output=True)


def _masks(annotations, size):
    masks = []
    for annotation in annotations:
        mask = np.zeros((size, size), np.uint8)
        polygon = np.array(annotation['segmentation'][0]).reshape(-1, 2)
        cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 1)
        masks.append(mask)
    return masks


def test_crowded_scenes(tmp_path):
    _write(tmp_path / 'a')
    assert sorted(p.name for p in (tmp_path / 'a').iterdir()) == ['coco']
    with open(tmp_path / 'a' / 'coco' / 'annotations' /
              'instances_train2017.json') as f:
        coco = json.load(f)
    assert len(coco['images']) == 6
    per_image = defaultdict(list)
    for annotation in coco['annotations']:
        per_image[annotation['image_id']].append(annotation)
    areas = [a['area'] for a in coco['annotations']]
    assert np.mean(np.array(areas) < 32 * 32) > 0.7
    close_pairs = 0
    colours = defaultdict(list)  # per class
    for image in coco['images']:
        annotations = per_image[image['id']]
        assert 15 <= len(annotations) <= 40
        masks = _masks(annotations, image['height'])
        pixels = cv2.imread(
            str(tmp_path / 'a' / 'coco' / 'train2017' / image['file_name']))
        for annotation, mask in zip(annotations, masks):
            colours[annotation['category_id']].append(
                pixels[mask.astype(bool)].mean(0))
        # Touching edges may share a rasterised pixel, no more.
        assert (np.sum(masks, 0) > 1).sum() <= 10
        grown = [cv2.dilate(m, np.ones((5, 5), np.uint8)) for m in masks]
        close_pairs += int((np.sum(grown, 0) > 1).any())
    assert close_pairs >= 4  # shapes within 2 px of each other: touching
    # Every class comes in every colour (the demo's classes have one hue).
    for class_colours in colours.values():
        assert np.std(class_colours, 0).min() > 50

    # The tool's seed is the function's.
    make_crowded_shapes_dataset(tmp_path / 'b', num_train=6, num_val=2)
    make_crowded_shapes_dataset(
        tmp_path / 'c', num_train=6, num_val=2, seed=1)
    files = sorted(p.relative_to(tmp_path / 'a')
                   for p in (tmp_path / 'a').rglob('*') if p.is_file())
    a, b, c = ([(tmp_path / folder / f).read_bytes() for f in files]
               for folder in 'abc')
    assert a == b
    assert any(x != y for x, y in zip(a, c))

# Copyright (c) mmsepvit contributors. All rights reserved.
"""Synthetic "shapes" datasets in the ImageNet, ADE20K and COCO layouts, for
``make_shapes_data.py`` beside it (a module of the tools, no part of the
mmsepvit package).

mmsepvit's demo configs train on these, so the whole workflow runs with the
toolboxes' real datasets, pipelines and metrics on a machine with no data:
coloured circles, squares, triangles and crosses on textured backgrounds.

Layouts written under ``root``::

    imagenet/{train,val}/<class>/*.png          one shape per image
    ade/images/{training,validation}/*.jpg      several shapes per image,
    ade/annotations/{training,validation}/*.png 0 unlabelled, 1 background,
                                                2.. the shape classes
    coco/{train2017,val2017}/*.jpg              the same scenes,
    coco/annotations/instances_{train,val}2017.json   boxes and polygons

:func:`make_crowded_shapes_dataset` writes the COCO layout alone with
crowded scenes: many small shapes that may touch, in larger images (the
hard detection case of issue #22).
"""
import json
import os
import os.path as osp
import shutil
from typing import Callable, Dict, List, Optional, Tuple

import cv2
import numpy as np

SHAPE_CLASSES = ('circle', 'square', 'triangle', 'cross')
# Each class has its own hue (BGR), jittered per instance, so that a small
# model learns the task in a few CPU minutes.
_CLASS_COLOURS = ((40, 40, 220), (40, 200, 40), (220, 90, 30), (30, 200, 220))
SEG_CLASSES = ('background', ) + SHAPE_CLASSES
SEG_PALETTE = [[0, 0, 0], [220, 40, 40], [40, 200, 40], [30, 90, 220],
               [220, 200, 30]]


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth, greyish random background."""
    coarse = rng.uniform(60, 190, (size // 16 + 2, size // 16 + 2))
    base = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 12, (size, size, 3))
    tint = rng.uniform(-15, 15, 3)
    return np.clip(base[..., None] + noise + tint, 0, 255).astype(np.uint8)


def _polygon(rng: np.random.Generator, label: int, center: np.ndarray,
             radius: float) -> np.ndarray:
    """Vertices (N, 2) of a shape of class ``label``."""
    name = SHAPE_CLASSES[label]
    if name == 'circle':
        angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        points = np.stack([np.cos(angles), np.sin(angles)], 1)
    elif name == 'square':
        points = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * 0.8
    elif name == 'triangle':
        angles = np.array([90, 210, 330]) * np.pi / 180
        points = np.stack([np.cos(angles), -np.sin(angles)], 1)
    else:  # cross
        a, b = 1.0, 0.33
        points = np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b],
                           [b, b], [b, a], [-b, a], [-b, b], [-a, b],
                           [-a, -b], [-b, -b]])
    theta = rng.uniform(0, 2 * np.pi) if name != 'circle' else 0.
    rotation = np.array([[np.cos(theta), -np.sin(theta)],
                         [np.sin(theta), np.cos(theta)]])
    return center + radius * points @ rotation.T


# Scenes of the demo datasets: one to four large shapes of their class's
# colour, 2 px apart.
DEMO_SCENES = dict(
    shape_counts=(1, 4), radius_range=(0.1, 0.22), gap=2., class_colours=True)
# Crowded scenes: 15 to 40 shapes of 8 to 23 px circumradius at 384 px
# (most are COCO "small" objects), allowed to touch, in random colours, so
# that only the outline tells the class.
CROWDED_SCENES = dict(
    shape_counts=(15, 40),
    radius_range=(0.02, 0.06),
    gap=0.,
    class_colours=False)


def _scene(rng: np.random.Generator,
           size: int,
           num_shapes: int,
           label: Optional[int] = None,
           radius_range: Tuple[float, float] = DEMO_SCENES['radius_range'],
           gap: float = DEMO_SCENES['gap'],
           class_colours: bool = DEMO_SCENES['class_colours']
           ) -> Tuple[np.ndarray, List[Tuple[int, np.ndarray]]]:
    """An image with up to ``num_shapes`` non-overlapping shapes, all of
    class ``label`` if given, else of random classes; circumradii are
    ``radius_range`` times ``size``, circumcircles stay ``gap`` pixels
    apart (0: shapes may touch), colours are the class's (jittered) or, if
    not ``class_colours``, random."""
    image = _texture(rng, size)
    shapes: List[Tuple[int, np.ndarray]] = []
    placed: List[Tuple[np.ndarray, float]] = []
    for _ in range(num_shapes * 20):
        if len(shapes) == num_shapes:
            break
        radius = rng.uniform(*radius_range) * size
        center = rng.uniform(radius, size - radius, 2)
        if any(
                np.linalg.norm(center - c) < radius + r + gap
                for c, r in placed):
            continue
        shape_label = int(rng.integers(len(SHAPE_CLASSES))) \
            if label is None else label
        polygon = _polygon(rng, shape_label, center, radius)
        if class_colours:
            colour = np.clip(
                np.array(_CLASS_COLOURS[shape_label]) +
                rng.integers(-35, 36, 3), 0, 255)
        else:
            colour = rng.integers(0, 256, 3)
        cv2.fillPoly(image, [np.round(polygon).astype(np.int32)],
                     tuple(int(c) for c in colour))
        shapes.append((shape_label, polygon))
        placed.append((center, radius))
    return image, shapes


def _write_imagenet(rng, root: str, split: str, num: int, size: int) -> None:
    for i in range(num):
        label = i % len(SHAPE_CLASSES)  # balanced, every class present
        image, _ = _scene(rng, size, 1, label)
        folder = osp.join(root, split, SHAPE_CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(osp.join(folder, f'{split}_{i:05d}.png'), image)


def _write_dense(rng,
                 root: str,
                 ade_split: Optional[str],
                 coco_split: str,
                 num: int,
                 size: int,
                 shape_counts: Tuple[int, int],
                 radius_range: Tuple[float, float],
                 gap: float,
                 class_colours: bool) -> None:
    """Scenes of ``shape_counts`` (inclusive range) shapes in the COCO
    layout, and in the ADE20K one unless ``ade_split`` is None."""
    coco_img = osp.join(root, 'coco', coco_split)
    coco_ann = osp.join(root, 'coco', 'annotations')
    folders = [coco_img, coco_ann]
    if ade_split is not None:
        ade_img = osp.join(root, 'ade', 'images', ade_split)
        ade_ann = osp.join(root, 'ade', 'annotations', ade_split)
        folders += [ade_img, ade_ann]
    for folder in folders:
        os.makedirs(folder, exist_ok=True)
    images: List[Dict] = []
    annotations: List[Dict] = []
    for i in range(num):
        num_shapes = int(rng.integers(shape_counts[0], shape_counts[1] + 1))
        image, shapes = _scene(
            rng,
            size,
            num_shapes,
            radius_range=radius_range,
            gap=gap,
            class_colours=class_colours)
        name = f'{coco_split}_{i:05d}'
        cv2.imwrite(osp.join(coco_img, name + '.jpg'), image)
        seg_map = np.ones((size, size), np.uint8)  # 1 = background
        images.append(
            dict(id=i, file_name=name + '.jpg', height=size, width=size))
        for label, polygon in shapes:
            cv2.fillPoly(seg_map, [np.round(polygon).astype(np.int32)],
                         label + 2)
            polygon = np.clip(polygon, 0, size - 1)
            x0, y0 = polygon.min(0)
            x1, y1 = polygon.max(0)
            area = float(cv2.contourArea(polygon.astype(np.float32)))
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i,
                    category_id=label + 1,
                    bbox=[float(x0), float(y0),
                          float(x1 - x0),
                          float(y1 - y0)],
                    area=area,
                    segmentation=[polygon.reshape(-1).round(2).tolist()],
                    iscrowd=0))
        if ade_split is not None:
            cv2.imwrite(osp.join(ade_img, name + '.jpg'), image)
            cv2.imwrite(osp.join(ade_ann, name + '.png'), seg_map)
    categories = [
        dict(id=i + 1, name=name) for i, name in enumerate(SHAPE_CLASSES)
    ]
    with open(osp.join(coco_ann, f'instances_{coco_split}.json'), 'w') as f:
        json.dump(
            dict(
                images=images,
                annotations=annotations,
                categories=categories), f)


def _write_dense_splits(rng, root: str, num_train: int, num_val: int,
                        size: int, scenes: dict, with_ade: bool) -> None:
    """The train and val splits of :func:`_write_dense` with ``scenes``."""
    for ade_split, coco_split, num in (('training', 'train2017', num_train),
                                       ('validation', 'val2017', num_val)):
        _write_dense(rng, root, ade_split if with_ade else None, coco_split,
                     num, size, **scenes)


def _write_aside(root: str, write: Callable[[str], None]) -> None:
    """Run ``write(folder)`` on a fresh folder beside ``root`` and move it
    into place, so an interrupted run never leaves a half-written dataset
    where the configs look; an existing ``root`` is replaced."""
    partial = osp.normpath(root) + '.partial'
    shutil.rmtree(partial, ignore_errors=True)
    write(partial)
    shutil.rmtree(root, ignore_errors=True)
    os.replace(partial, root)


def _check_counts(num_train: int, num_val: int) -> None:
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train and num_val must be >= 1, got '
                         f'{num_train} and {num_val}.')


def make_shapes_datasets(root: str,
                         num_train: int = 400,
                         num_val: int = 60,
                         cls_size: int = 64,
                         dense_size: int = 128,
                         seed: int = 0) -> None:
    """Write the shapes datasets under ``root`` (see the module doc).

    Args:
        root (str): Output folder; an existing one is replaced.
        num_train (int): Training images per layout. Defaults to 400.
        num_val (int): Validation images per layout. Defaults to 60.
        cls_size (int): Side of the classification images. Defaults to 64.
        dense_size (int): Side of the segmentation / detection images.
            Defaults to 128.
        seed (int): Random seed; the same seed writes the same data.
            Defaults to 0.
    """
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)

    def write(folder):
        imagenet = osp.join(folder, 'imagenet')
        _write_imagenet(rng, imagenet, 'train', num_train, cls_size)
        _write_imagenet(rng, imagenet, 'val', num_val, cls_size)
        _write_dense_splits(rng, folder, num_train, num_val, dense_size,
                            DEMO_SCENES, with_ade=True)

    _write_aside(root, write)


def make_crowded_shapes_dataset(root: str,
                                num_train: int = 120,
                                num_val: int = 30,
                                size: int = 384,
                                seed: int = 0) -> None:
    """Write crowded scenes in the COCO layout under ``root/coco``: 15 to
    40 shapes per image, mostly smaller than 32x32 pixels at the default
    size, allowed to touch, in random colours (:data:`CROWDED_SCENES`).

    Args:
        root (str): Output folder; an existing one is replaced.
        num_train (int): Training images. Defaults to 120.
        num_val (int): Validation images. Defaults to 30.
        size (int): Side of the images; shapes scale with it.
            Defaults to 384.
        seed (int): Random seed; the same seed writes the same data.
            Defaults to 0.
    """
    _check_counts(num_train, num_val)
    rng = np.random.default_rng(seed)

    _write_aside(
        root, lambda folder: _write_dense_splits(
            rng, folder, num_train, num_val, size, CROWDED_SCENES,
            with_ade=False))

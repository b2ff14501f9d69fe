# Copyright (c) mmsepvit contributors. All rights reserved.
from .feature_distiller import FeatureDistiller
from .frozen_teacher import FrozenTeacherDistiller
from .task_distiller import TaskDistiller

__all__ = ['FeatureDistiller', 'FrozenTeacherDistiller', 'TaskDistiller']

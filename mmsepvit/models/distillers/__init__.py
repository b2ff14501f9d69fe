# Copyright (c) mmsepvit contributors. All rights reserved.
from .feature_distiller import FeatureDistiller

__all__ = ['FeatureDistiller']

# Copyright (c) mmsepvit contributors. All rights reserved.
"""Measuring models: the benchmark tools' timing rounds, matrix-product
recorder and activation meter (:mod:`mmsepvit.analysis.benchmark`)."""

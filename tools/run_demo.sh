#!/usr/bin/env bash
# The embedded default: generate the shapes data (once), train a small SepViT
# on it and evaluate the last checkpoint with tools/test.py, on CPU.
#
#   bash tools/run_demo.sh [seg|cls|det]      (default: seg, Semantic FPN, mIoU)
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python )}
TASK=${1:-seg}
# mmengine 0.10.7 imports pkg_resources, which setuptools deprecates loudly.
export PYTHONWARNINGS=${PYTHONWARNINGS:-"ignore:pkg_resources is deprecated:UserWarning"}
case "$TASK" in
    seg) CONFIG=configs/seg/fpn_sepvit_demo_shapes.py ;;
    cls) CONFIG=configs/cls/sepvit_demo_shapes.py ;;
    det) CONFIG=configs/det/mask_rcnn_sepvit_demo_shapes.py ;;
    *) echo "run_demo.sh: unknown task '$TASK'; choose seg, cls or det" >&2; exit 2 ;;
esac
WORK_DIR=work_dirs/demo_$TASK

if [ ! -d data/shapes ]; then
    "$PYTHON" tools/misc/make_shapes_data.py --root data/shapes
fi
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
"$PYTHON" tools/test.py "$CONFIG" "$(cat "$WORK_DIR/last_checkpoint")" --work-dir "$WORK_DIR"

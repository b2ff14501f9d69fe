#!/usr/bin/env bash
# Install mmsepvit and its whole OpenMMLab stack (CPU) into a virtual environment in the repo.
#
#   bash tools/install.sh            # creates ./.venv; safe to run again (finished steps are cheap)
#
# Environment knobs: PYTHON (interpreter, default python3.11), MMSEPVIT_VENV (default ./.venv),
# MMSEPVIT_CACHE (where the built mmcv wheel is kept, default ~/.cache/mmsepvit), MAX_JOBS
# (compiler jobs for mmcv, default: number of cores).
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
VENV=${MMSEPVIT_VENV:-$ROOT/.venv}
CACHE=${MMSEPVIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmsepvit}
CONSTRAINTS=$ROOT/requirements/constraints.txt
MMCV_VERSION=2.1.0
export MAX_JOBS=${MAX_JOBS:-$(nproc)}

STEP='start'
START=$(date +%s)
step() {
    STEP=$1
    echo
    echo "==> [$(date +%H:%M:%S), +$(( $(date +%s) - START ))s] $STEP"
}
on_error() {
    echo >&2
    echo "install.sh: FAILED during step: $STEP" >&2
    echo "install.sh: fix the cause shown above and run tools/install.sh again." >&2
}
trap on_error ERR

step "check the interpreter ($PYTHON)"
command -v "$PYTHON" >/dev/null || { echo "install.sh: '$PYTHON' not found; set PYTHON=/path/to/python3.11" >&2; false; }
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
    || { echo "install.sh: mmsepvit's pinned stack (torch 2.14.1 wheels, mmcv 2.1.0) needs Python 3.11" >&2; false; }

step "create the virtual environment $VENV"
if [ -x "$VENV/bin/python" ]; then
    echo "already there"
else
    # The venv takes ~6.3 GB (torch 2.14.1 is a CUDA build: torch, nvidia-* and triton ~5.3 GB);
    # checked first, so a full disk fails here and not after minutes of pip.
    NEED_GB=7
    mkdir -p "$(dirname "$VENV")"
    FREE_KB=$(df -Pk "$(dirname "$VENV")" | awk 'NR == 2 {print $4}')
    if [ "$FREE_KB" -lt $((NEED_GB * 1024 * 1024)) ]; then
        echo "install.sh: the environment needs about $NEED_GB GB free; $(dirname "$VENV") has" \
            "$((FREE_KB / 1024)) MB. Free some space, or set MMSEPVIT_VENV to a folder on a larger disk." >&2
        false
    fi
    "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
pip_install() { "$PY" -m pip install --disable-pip-version-check -c "$CONSTRAINTS" "$@"; }

step "install torch and torchvision"
pip_install torch torchvision

step "install the build tools mmcv needs (setuptools<82 for pkg_resources, ninja, numpy<2)"
pip_install 'setuptools<82' wheel ninja psutil 'numpy<2'

TORCH_TAG=$("$PY" -c 'import torch; print(torch.__version__.replace("+", "_"))')
PY_TAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WHEEL_DIR=$CACHE/mmcv-${MMCV_VERSION}_torch-${TORCH_TAG}_${PY_TAG}_cpu

step "provide mmcv $MMCV_VERSION with its compiled CPU ops (wheel cache: $WHEEL_DIR)"
mmcv_ok() {
    "$PY" - <<PYEOF 2>/dev/null
import mmcv
from mmcv.ops import nms  # needs the compiled mmcv._ext
assert mmcv.__version__ == '$MMCV_VERSION', mmcv.__version__
PYEOF
}
if mmcv_ok; then
    echo "already installed with ops"
else
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        BUILD=$(mktemp -d)
        echo "no cached wheel; building from the PyPI sdist in $BUILD (about 15 min on 2 cores)"
        # mmcv's setup.py imports torch and pkg_resources: build against this venv, not an isolated one.
        "$PY" -m pip download --disable-pip-version-check --no-deps --no-binary :all: \
            --no-build-isolation -d "$BUILD" "mmcv==$MMCV_VERSION"
        tar -xzf "$BUILD/mmcv-$MMCV_VERSION.tar.gz" -C "$BUILD"
        SRC=$BUILD/mmcv-$MMCV_VERSION
        # torch>=2.14 headers require C++20, but mmcv 2.1.0 hard-codes -std=c++17 after torch's flags.
        grep -q -- '-std=c++17' "$SRC/setup.py" \
            || { echo "install.sh: expected '-std=c++17' in mmcv's setup.py; the sdist changed" >&2; false; }
        sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
        (cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=0 "$PY" -m pip wheel --disable-pip-version-check \
            --no-build-isolation --no-deps -w "$BUILD/wheel" .)
        mkdir -p "$WHEEL_DIR"
        # Copy then rename, so an interrupted run never leaves a half-written wheel in the cache.
        WHEEL=$(ls "$BUILD"/wheel/mmcv-*.whl)
        cp "$WHEEL" "$WHEEL_DIR/.partial"
        mv "$WHEEL_DIR/.partial" "$WHEEL_DIR/$(basename "$WHEEL")"
        rm -rf "$BUILD"
    else
        echo "using the cached wheel"
    fi
    pip_install --force-reinstall --no-deps "$WHEEL_DIR"/mmcv-*.whl
fi

step "install mmengine, mmpretrain, mmsegmentation, mmdetection, onnx + onnxruntime, mim, test tools and mmsepvit (editable)"
pip_install -e "$ROOT[all]"
# mim and mmengine 0.10.7 look for a package (and its .mim configs and tools) next to its
# dist-info, where a PEP 660 editable install puts only an import hook: link it there.
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
ln -sfn "$ROOT/mmsepvit" "$SITE/mmsepvit"

step "check the installed stack"
"$PY" - <<'PYEOF'
import mmcv, mmdet, mmengine, mmpretrain, mmseg, torch, torchvision
from mmcv.ops import RoIAlign, nms  # noqa: F401
import mmdet.models, mmpretrain.models, mmseg.models  # noqa: F401,E401
import onnx, onnxruntime, onnxscript  # noqa: F401,E401
import mim  # noqa: F401
import mmsepvit
import os, tempfile  # noqa: E401
from mmengine.config import Config
with tempfile.TemporaryDirectory() as folder:  # a config outside the repository inherits ours
    user_config = os.path.join(folder, 'user_config.py')
    with open(user_config, 'w') as f:
        f.write("_base_ = 'mmsepvit::seg/fpn_sepvit_demo_shapes.py'\n")
    assert Config.fromfile(user_config).model.backbone.type == 'mmsepvit.SepViT'
print(f'torch {torch.__version__}, torchvision {torchvision.__version__}, mmcv {mmcv.__version__}, '
      f'mmengine {mmengine.__version__}, mmpretrain {mmpretrain.__version__}, '
      f'mmseg {mmseg.__version__}, mmdet {mmdet.__version__}, mmsepvit {mmsepvit.__version__}')
PYEOF

echo
echo "install.sh: done in $(( $(date +%s) - START ))s. Activate with: source ${VENV#$ROOT/}/bin/activate"

#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment at .venv, idempotently.
#
#   bash tools/setup_env.sh            # what `make demo` / `make test` call first
#
# The stack is the one verified in docs/installation.md: torch + torchvision as a matching pair
# from the registry, mmcv-full 1.7.2 compiled from its sdist with its ops, mmdet 2.28.2, mmpose 0.29.0
# (--no-deps, its needs listed in requirements/runtime.txt), numpy<2, opencv-python<4.11.
#
# mmcv-full is built once into a wheelhouse OUTSIDE the repository whose path names the torch version,
# its CUDA variant, the Python tag and whether mmcv's CUDA ops were compiled, and always with
# --no-cache-dir: pip's own cache keys a built wheel by the sdist alone and would hand back a wheel built
# against another torch (ENVIRONMENT.md, trap 2). A set-up next to another torch therefore rebuilds.
#
# Environment knobs:
#   MMHRKPT_VENV         venv path (default: <repo>/.venv)
#   MMHRKPT_WHEELHOUSE   wheelhouse root (default: ~/.cache/mmhrkpt/wheelhouse)
#   PYTHON               interpreter used to create the venv (default: python3.11, else python3)
#   FORCE_CUDA=1         build mmcv's CUDA ops even if no GPU is visible (needs nvcc)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMHRKPT_VENV:-$ROOT/.venv}"
WHEELHOUSE_ROOT="${MMHRKPT_WHEELHOUSE:-$HOME/.cache/mmhrkpt/wheelhouse}"
TORCH_VERSION=2.12.1
TORCHVISION_VERSION=0.27.1
MMCV_VERSION=1.7.2
MMPOSE_VERSION=0.29.0

log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ -z "${PYTHON:-}" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

# Everything the set-up depends on; when none of it changed since the last successful run we stop here.
STAMP="$VENV/.mmhrkpt-setup"
fingerprint() {
  cat "$ROOT/tools/setup_env.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ] && [ -x "$VENV/bin/python" ]; then
  log "environment up to date ($VENV)"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check --progress-bar off)

log "build tools"
"${PIP[@]}" -q -r "$ROOT/requirements/build.txt"

# torch and torchvision from the registry as one matching pair. Not the CPU-only torch file that the
# machine ships in its find-links (trap 1): no registry torchvision imports beside it.
if ! "$PY" -c "import torch, torchvision, sys; sys.exit(not (torch.__version__.split('+')[0] == '$TORCH_VERSION' and torchvision.__version__.split('+')[0] == '$TORCHVISION_VERSION'))" 2>/dev/null; then
  log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
  "${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

# The runtime requirements first, so numpy<2 is in place before mmcv is compiled and imported. The
# deployment extra (onnx, onnxruntime) comes in the same resolution, so that `make test` runs its tests
# and nothing it pulls in moves numpy.
log "runtime requirements"
"${PIP[@]}" -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" \
    -r "$ROOT/requirements/deploy.txt"

# ---- mmcv-full, built against exactly this torch ---------------------------------------------------
read -r TORCH_TAG PY_TAG HAS_GPU < <("$PY" - <<'EOF'
import sys, torch
cuda = torch.version.cuda
tag = torch.__version__.split('+')[0] + ('-cu' + cuda.replace('.', '') if cuda else '-cpu')
print(tag, 'cp%d%d' % sys.version_info[:2], int(torch.cuda.is_available()))
EOF
)
WITH_CUDA_OPS=0
if { [ "$HAS_GPU" = 1 ] || [ "${FORCE_CUDA:-0}" = 1 ]; } && command -v nvcc >/dev/null 2>&1; then
  WITH_CUDA_OPS=1
fi
OPS_TAG=$([ "$WITH_CUDA_OPS" = 1 ] && echo ops-cuda || echo ops-cpu)
WHEELHOUSE="$WHEELHOUSE_ROOT/mmcv-full-$MMCV_VERSION/torch-$TORCH_TAG-$PY_TAG-$OPS_TAG"

installed_mmcv_ok() {
  "$PY" - "$WHEELHOUSE" <<'EOF' 2>/dev/null
import json, sys
from importlib import metadata
# The installed mmcv-full must be the one from this wheelhouse (recorded at install time).
dist = metadata.distribution('mmcv-full')
rec = json.loads(open(sys.argv[1] + '/built_against.json').read())
assert dist.version == rec['mmcv']
import torch
assert torch.__version__ == rec['torch'], (torch.__version__, rec['torch'])
from mmcv.ops import RoIAlign, nms  # compiled ops import
EOF
}

if ! ls "$WHEELHOUSE"/mmcv_full-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
  log "building mmcv-full==$MMCV_VERSION against torch $TORCH_TAG ($OPS_TAG) into $WHEELHOUSE (about 7 min on 2 cores)"
  mkdir -p "$WHEELHOUSE_ROOT"
  BUILD_DIR="$(mktemp -d "$WHEELHOUSE_ROOT/.build.XXXXXX")"
  trap 'rm -rf "$BUILD_DIR"' EXIT
  build_env=(MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)")
  if [ "$WITH_CUDA_OPS" = 1 ]; then
    ARCH="${TORCH_CUDA_ARCH_LIST:-$("$PY" -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())" 2>/dev/null || echo 9.0)}"
    build_env+=(FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCH")
    log "compiling CUDA ops for arch $ARCH"
  else
    build_env+=(FORCE_CUDA=0)
  fi
  env "${build_env[@]}" "$PY" -m pip wheel --disable-pip-version-check --progress-bar off \
      --no-build-isolation --no-deps --no-cache-dir --no-binary mmcv-full \
      "mmcv-full==$MMCV_VERSION" -w "$BUILD_DIR"
  "$PY" -c "import json, sys, torch; json.dump({'mmcv': '$MMCV_VERSION', 'torch': torch.__version__, 'cuda': torch.version.cuda, 'cuda_ops': bool($WITH_CUDA_OPS), 'python': sys.version.split()[0]}, open('$BUILD_DIR/built_against.json', 'w'), indent=1)"
  # Publish atomically: a wheelhouse either has the wheel and its record, or does not exist.
  mkdir -p "$(dirname "$WHEELHOUSE")"
  rm -rf "$WHEELHOUSE.partial"
  mv "$BUILD_DIR" "$WHEELHOUSE.partial"
  mv -T "$WHEELHOUSE.partial" "$WHEELHOUSE"
  trap - EXIT
else
  log "reusing mmcv-full wheel from $WHEELHOUSE"
fi
if ! installed_mmcv_ok; then
  log "installing mmcv-full from $WHEELHOUSE"
  "${PIP[@]}" --no-deps --no-cache-dir --no-index --force-reinstall "$WHEELHOUSE"/mmcv_full-"$MMCV_VERSION"-*.whl
fi

# mmpose 0.29.0 without its requirements (chumpy does not build; the rest is in runtime.txt).
if ! "$PY" -c "from importlib import metadata; assert metadata.version('mmpose') == '$MMPOSE_VERSION'" 2>/dev/null; then
  log "installing mmpose==$MMPOSE_VERSION (--no-deps)"
  "${PIP[@]}" -q --no-deps "mmpose==$MMPOSE_VERSION"
fi

log "installing mmhrkpt (editable)"
"${PIP[@]}" -q --no-deps --no-build-isolation -e "$ROOT"

"$PY" -c "import mmhrkpt; from mmhrkpt.utils import import_mmpose; import_mmpose(); from mmcv.ops import RoIAlign; print('mmhrkpt', mmhrkpt.__version__, 'ok')"
fingerprint > "$STAMP"
log "done"

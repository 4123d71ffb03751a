#!/usr/bin/env bash
# The main job: set up this machine (idempotently, like .ci/run), then
#   * with a display and the napari plugin available: open napari with the plugin's widgets and the
#     bundled 'mouse' sample loaded;
#   * otherwise, or with --headless: run the headless pipeline on the bundled sample data and write
#     the results to ./results (or $RESULTS_DIR).
# Usage: bash run.sh [--headless | --gui] [extra arguments for the GUI: a file, folder or example name]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=.ci/setup
source .ci/setup
nt_setup

mode=auto
args=()
for arg in "$@"; do
    case "$arg" in
        --headless) mode=headless ;;
        --gui) mode=gui ;;
        *) args+=("$arg") ;;
    esac
done

if [[ $mode == auto ]]; then
    mode=headless
    if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] \
        && "$PYTHON" -c "import napari, napari_thunder.plugin.app" >/dev/null 2>&1; then
        mode=gui
    elif [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
        echo "[run] no display: running the headless pipeline (use --gui under a display for napari)" >&2
    fi
fi

if [[ $mode == gui ]]; then
    exec "$PYTHON" -m napari_thunder.cli gui "${args[@]}"
fi

out="${RESULTS_DIR:-results}"
mkdir -p "$out"
nt() { "$PYTHON" -m napari_thunder.cli "$@"; }
echo "== mouse (synthetic calcium imaging, 20 x 64 x 64): smoothed mean image"
nt run example:mouse -p gaussian_filter:sigma=1 -p mean -o "$out/mouse-mean" --overwrite
echo "== mouse: local correlation map (cells light up)"
nt run example:mouse -p localcorr:neighborhood=2 -o "$out/mouse-localcorr" --overwrite
echo "== fish (synthetic larval zebrafish, 20 x 2 x 76 x 87): max over time of the z max projection"
nt run example:fish -p max_projection:axis=0 -p max -o "$out/fish-max" --overwrite
echo "results in $(cd "$out" && pwd)"

#!/bin/sh
# Decodes the calibration set (bench/recognition-calibrate.ts, CALIB_DETAIL=0) for each
# "TAG GARBAGE TRANSFORM|none" line on stdin, one at a time, then refits it from the saved output
# with the curve search's quiet thresholds widened (-20..0, the garbage path's ratios sit low) at
# several out-of-grammar caps. Writes bench/results/recognition-calibration-TAG.{json,txt}.
# Usage: printf 'mllr10g30 1e-30 bench/results/mllr-transform-10db.txt\n' | NOISE=10 scripts/mllr/calib-sweep.sh
# (needs `npx tsc -p tsconfig.bench.json` first).
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here"
noise=${NOISE:-10}
while read -r tag garb mllr; do
  [ -n "$tag" ] || continue
  args=""
  [ "$mllr" = none ] || args="-mllr $here/$mllr"
  out="bench/results/recognition-calibration-$tag.txt"
  echo "# $tag: CALIB_NOISE=$noise CALIB_GARBAGE=$garb CALIB_DETAIL=0 CALIB_DECODER_ARGS='$args' ($(date -u +%H:%M:%S) UTC)" > "$out"
  CALIB_NOISE=$noise CALIB_GARBAGE=$garb CALIB_DETAIL=0 CALIB_DECODER_ARGS="$args" CALIB_TAG=$tag \
    node dist-bench/bench/recognition-calibrate.js >> "$out"
  for fa in own 2.51 3.4 5.01; do
    echo "# refit: CALIB_QUIETS=-20,0 CALIB_MAX_FA=$fa" >> "$out"
    if [ $fa = own ]; then
      CALIB_REFIT=1 CALIB_QUIETS=-20,0 CALIB_NOISE=$noise CALIB_GARBAGE=$garb CALIB_DETAIL=0 CALIB_DECODER_ARGS="$args" CALIB_TAG=$tag \
        node dist-bench/bench/recognition-calibrate.js | grep "curve searched" >> "$out"
    else
      CALIB_REFIT=1 CALIB_QUIETS=-20,0 CALIB_MAX_FA=$fa CALIB_NOISE=$noise CALIB_GARBAGE=$garb CALIB_DETAIL=0 CALIB_DECODER_ARGS="$args" CALIB_TAG=$tag \
        node dist-bench/bench/recognition-calibrate.js | grep "curve searched" >> "$out"
    fi
  done
  echo "# done $(date -u +%H:%M:%S) UTC" >> "$out"
  echo "$tag done $(date -u +%H:%M:%S)" >&2
done

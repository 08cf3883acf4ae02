#!/bin/sh
# Estimates one global MLLR transform of Debian's en-us pocketsphinx model (issue 16) on our own
# synthetic audio (bench/mllr-adapt-audio.ts: requests none of the bench's or the calibration
# set's, the four tuned voices, through the product's Wiener filter), with Debian's sphinxtrain:
# sphinx_fe (the model's feat.params front end, -remove_silence no as the recogniser has it),
# bw with live CMN from the model's -cmninit (as the recogniser's decoders), mllr_solve (1 class).
# Usage: scripts/mllr/mllr-adapt.sh OUT_FILE [SNR|quiet] [N_REQUESTS]  (needs `npx tsc -p
# tsconfig.bench.json` first, and apt packages sphinxtrain sphinxbase-utils python3-numpy).
set -eu
out=$1
level=${2:-10}
n=${3:-50}
here=$(cd "$(dirname "$0")/../.." && pwd)
model=${MODEL:-/usr/share/pocketsphinx/model/en-us}
hmm=$model/en-us
work=$(mktemp -d "${TMPDIR:-/tmp}/mllr-adapt-XXXXXX")
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
node "$here/dist-bench/bench/mllr-adapt-audio.js" "$work" "$level" "$n"
while read -r id; do
  sphinx_fe -i "$work/$id.raw" -o "$work/$id.mfc" -raw yes -input_endian little -samprate 16000 \
    -lowerf 130 -upperf 6800 -nfilt 25 -transform dct -lifter 22 -remove_silence no >/dev/null 2>&1
done < "$work/adapt.fileids"
python3 "$here/scripts/mllr/sendump2mixw.py" "$hmm/sendump" "$work/mixture_weights" >/dev/null
pocketsphinx_mdef_convert -text "$hmm/mdef" "$work/mdef.txt" >/dev/null 2>&1
cmninit=$(sed -n 's/^-cmninit //p' "$hmm/feat.params")
mkdir -p "$work/acc"
/usr/lib/sphinxtrain/bw -hmmdir "$hmm" -moddeffn "$work/mdef.txt" -mixwfn "$work/mixture_weights" \
  -ts2cbfn .ptm. -feat 1s_c_d_dd -svspec 0-12/13-25/26-38 -cmn live -cmninit "$cmninit" -agc none \
  -dictfn "$model/cmudict-en-us.dict" -fdictfn "$hmm/noisedict" -ctlfn "$work/adapt.fileids" \
  -lsnfn "$work/adapt.transcription" -cepdir "$work" -cepext mfc -accumdir "$work/acc" \
  -meanreest yes -varreest no -mixwreest no -tmatreest no > "$work/bw.log" 2>&1 || { tail -30 "$work/bw.log" >&2; exit 1; }
grep -E 'overall>|ERROR|WARN' "$work/bw.log" | tail -5 >&2 || true
/usr/lib/sphinxtrain/mllr_solve -meanfn "$hmm/means" -varfn "$hmm/variances" -outmllrfn "$work/mllr_matrix" \
  -accumdir "$work/acc" > "$work/solve.log" 2>&1 || { tail -30 "$work/solve.log" >&2; exit 1; }
cp "$work/mllr_matrix" "$out"
echo "wrote $out" >&2

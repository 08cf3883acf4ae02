# Usage: python3 scripts/mllr/offsets.py FILE.json... [--level 10] [--deltas -1,0,1,2,3,3.5,4]
# The product's rule (GARBAGE_CURVE, threshold 0.5, the garbage path rejected) moved by each
# offset, on saved decodes (bench/results/recognition-calibration-TAG.json): for each offset,
# requests right / requests, out-of-grammar accepted / out-of-grammar, at one noise level.
import json, sys

CURVE = (-11.5, 0.1, 3, 35)  # src/speech/rejection.ts GARBAGE_CURVE: offset, slope, drop, from
QUIET = 0.5  # DEFAULT_REJECT_THRESHOLD


def threshold(snr):
    offset, slope, drop, start = CURVE
    top = QUIET + offset
    if snr is None or snr >= start:
        return top
    return top - min(drop, slope * (start - snr))


def judge(rows, delta):
    right = n_in = accepted_oog = n_oog = 0
    for r in rows:
        f, hyp = r['features'], (r['hyp'] or '').strip()
        accepted = bool(hyp) and not any(w.startswith('ph_') for w in hyp.split()) and f['ratio'] >= threshold(f['snrDb']) + delta
        if r['inGrammar']:
            n_in += 1
            right += accepted and r['right']
        else:
            n_oog += 1
            accepted_oog += accepted
    return right, n_in, accepted_oog, n_oog


args = sys.argv[1:]
level, deltas, files = 10, [-1, 0, 1, 2, 3, 3.5, 4], []
while args:
    a = args.pop(0)
    if a == '--level':
        v = args.pop(0)
        level = None if v == 'quiet' else int(v)
    elif a == '--deltas':
        deltas = [float(x) for x in args.pop(0).split(',')]
    else:
        files.append(a)
for fn in files:
    rows = [r for r in json.load(open(fn))['rows'] if r['snr'] == level]
    cells = []
    for d in deltas:
        ok, n_in, fa, n_oog = judge(rows, d)
        cells.append(f'{d:+g}: {ok}/{n_in}, {fa}/{n_oog}')
    print(fn, ' | '.join(cells))

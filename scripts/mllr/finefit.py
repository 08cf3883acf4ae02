# Usage: python3 scripts/mllr/finefit.py TAG... (reads the decodes' whole output from /tmp/speaker-agent-recognition-calibration-TAG.json, rows of level LEVEL, default 10, or quiet)
import json,sys,re,os
LEVEL=os.environ.get('LEVEL','10'); LV=None if LEVEL=='quiet' else int(LEVEL)
# Fine refit at one level: threshold ratio >= a + b*(snrDb-10) (b per dB, the slope of an SNR curve), a set for exactly k OOG accepted; best b.
for tag in sys.argv[1:]:
    rows=json.load(open(f'/tmp/speaker-agent-recognition-calibration-{tag}.json'))['rows']
    rows=[r for r in rows if r['snr']==LV]
    def garb(r): 
        t=(r.get('evidence') or {}).get('grammar',{}).get('text','')
        return bool(re.search(r'(^| )ph_',t or ''))
    ok=[r for r in rows if r['features'] and not garb(r)]
    out=[]
    for k in (2,3,4,6):
        best=(-1,None)
        for i in range(-40,41):
            b=i*0.05
            s=lambda r: r['features']['ratio']-b*(min(30,r['features']['snrDb'])-10)
            oog=sorted((s(r) for r in ok if not r['inGrammar']),reverse=True)
            t=oog[k]+1e-9 if k<len(oog) else -1e18
            n=sum(1 for r in ok if r['inGrammar'] and r['right'] and s(r)>=t)
            if n>best[0]: best=(n,round(b,2))
        out.append(f'{k} OOG ({k/1.2:.1f} %): {best[0]} ({best[0]/1.6:.1f} %, b {best[1]})')
    print(tag, LEVEL, '; '.join(out))

#!/usr/bin/env python3
"""Converts a pocketsphinx PTM model's `sendump` (8-bit quantised mixture weights) into a
sphinxtrain `mixture_weights` file, which bw needs (Debian's en-us model ships only sendump).
sendump: a header of length-prefixed strings ended by a 0 length, then int32 #codewords and
#senones, then for each feature stream and codeword one byte per senone, the weight's
-log base 1.0001, shifted right by 10 bits. Usage: sendump2mixw.py SENDUMP OUT_MIXW"""
import struct
import sys

import numpy as np


def main(src, dst):
    data = open(src, 'rb').read()
    off = 0
    n_feat = 1
    while True:
        (n,) = struct.unpack_from('<I', data, off)
        off += 4
        if n == 0:
            break
        s = data[off:off + n].rstrip(b'\0').decode('latin-1')
        off += n
        if s.startswith('feature_count'):
            n_feat = int(s.split()[1])
    n_cw, n_sen = struct.unpack_from('<II', data, off)
    off += 8
    b = np.frombuffer(data, dtype=np.uint8, count=n_feat * n_cw * n_sen, offset=off)
    assert off + b.size == len(data), (off, b.size, len(data))
    q = b.reshape(n_feat, n_cw, n_sen).astype(np.float64) * 1024.0
    w = np.power(1.0001, -q).transpose(2, 0, 1)  # senone, feature, codeword
    w /= w.sum(axis=2, keepdims=True)
    with open(dst, 'wb') as f:
        hdr = b's3\nversion 1.0\n'
        pad = (len(hdr) + len(b'endhdr\n')) & 3
        f.write(hdr + (b' ' * (4 - pad) if pad else b'') + b'endhdr\n')
        f.write(struct.pack('=i', 0x11223344))
        f.write(struct.pack('=IIII', n_sen, n_feat, n_cw, n_sen * n_feat * n_cw))
        f.write(w.astype('<f4').tobytes())
    print(f'{n_sen} senones, {n_feat} streams, {n_cw} codewords -> {dst}')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])

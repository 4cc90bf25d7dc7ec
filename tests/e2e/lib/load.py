#!/usr/bin/env python3
"""load.py - a small load generator for the e2e tests (graceful shutdown, reload under load).

Threads send chat completions to the router for as long as they run, half streamed, with texts
in many scripts (curly quotes, emoji, CJK, RTL, combining marks), and check every answer whole:
status 200, a JSON completion with content (non-stream), or an SSE stream of chunks ending in
`data: [DONE]` with no error event (stream). Anything else is an error, with its reason.

  load.py URL --threads N --model M [--keepalive] [--stop-file F] [--signal-file F]
          [--progress-file F] [--max-seconds S] [--distinct K] [--unique]

--stop-file: the threads stop once this file exists. --signal-file: a file the test creates
when it signals the router (SIGTERM): from then on a refused connection (nothing listens, or
the connection reset before a byte of an answer on a fresh connection) is counted as
`refused`, not as an error, and a thread ends at its first refusal. Answers completed after
the signal file appeared are counted in `completed_after_signal`. --progress-file: rewritten
with the count of good answers every 10 answers. Prints one JSON summary line.
"""
import argparse
import http.client
import json
import os
import random
import socket
import sys
import threading
import time

TEXTS = [
    "What\u2019s the \u201cbest\u201d way to learn Python?",
    "the end.\u2019?",
    "he said \u2019 hi",
    "Explain recursion \U0001F600\U0001F44D\U0001F3FD in two sentences",
    "\u8bf7\u89e3\u91ca\u4e00\u4e0b\u91cf\u5b50\u8ba1\u7b97",
    "\u0645\u0627 \u0647\u0648 \u0627\u0644\u0630\u0643\u0627\u0621 \u0627\u0644\u0627\u0635\u0637\u0646\u0627\u0639\u064a\u061f",
    "Caf\u00e9 na\u0131\u0308ve r\u00e9sum\u00e9 \u2014 are these loanwords?",
    "\u041a\u0430\u043a \u0440\u0430\u0431\u043e\u0442\u0430\u0435\u0442 \u0431\u043b\u043e\u043a\u0447\u0435\u0439\u043d?",
    "Write a haiku about the sea \U0001F30A",
    "\u00bfD\u00f3nde est\u00e1 la biblioteca? \u00abpor favor\u00bb",
    "Summarise: \u2018It was the best of times, it was the worst of times\u2019",
    "\u05de\u05d4 \u05e9\u05dc\u05d5\u05de\u05da? \u200fnice",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--model", default="small")
    ap.add_argument("--keepalive", action="store_true")
    ap.add_argument("--stop-file")
    ap.add_argument("--signal-file")
    ap.add_argument("--progress-file")
    ap.add_argument("--max-seconds", type=float, default=120)
    ap.add_argument("--distinct", type=int, default=0, help="texts = first K (0: all) x variants")
    ap.add_argument("--unique", action="store_true", help="every request a new text (all misses)")
    a = ap.parse_args()
    host, port = a.url.split("//", 1)[1].split(":")
    port = int(port.rstrip("/"))
    texts = TEXTS[: a.distinct] if a.distinct else TEXTS
    lock = threading.Lock()
    st = {"ok": 0, "ok_stream": 0, "errors": 0, "refused": 0, "completed_after_signal": 0, "reasons": []}
    counter = [0]
    t_end = time.time() + a.max_seconds

    def signalled():
        return a.signal_file and os.path.exists(a.signal_file)

    def record(kind, reason=None):
        with lock:
            if kind == "error":
                st["errors"] += 1
                if len(st["reasons"]) < 8:
                    st["reasons"].append(reason)
            elif kind == "refused":
                st["refused"] += 1
            else:
                st["ok"] += 1
                if kind == "ok_stream":
                    st["ok_stream"] += 1
                if signalled():
                    st["completed_after_signal"] += 1
                if a.progress_file and st["ok"] % 10 == 0:
                    with open(a.progress_file + ".tmp", "w") as f:
                        f.write(str(st["ok"]))
                    os.replace(a.progress_file + ".tmp", a.progress_file)

    def one(conn, fresh, n):
        text = texts[n % len(texts)]
        if a.unique:
            text = "%s (#%d-%d)" % (text, n, random.randrange(1 << 30))
        stream = n % 2 == 1
        body = json.dumps({"model": a.model, "stream": stream,
                           "messages": [{"role": "user", "content": text}]}).encode()
        headers = {"Content-Type": "application/json"}
        if not a.keepalive:
            headers["Connection"] = "close"
        got_byte = False
        try:
            conn.request("POST", "/v1/chat/completions", body, headers)
            r = conn.getresponse()
            got_byte = True
            data = r.read()
        except ConnectionRefusedError as e:
            return ("refused" if signalled() else "error"), "connect refused: %s" % e
        except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                http.client.IncompleteRead, socket.timeout, OSError) as e:
            if not got_byte and fresh and signalled():
                return "refused", "reset before an answer: %r" % e
            return "error", "%s%s: %r" % (("stream " if stream else ""), "after headers" if got_byte else "no answer", e)
        if r.status != 200:
            return "error", "status %d: %s" % (r.status, data[:200])
        if not stream:
            try:
                j = json.loads(data)
                c = j["choices"][0]["message"]["content"]
                if not c:
                    return "error", "empty content"
            except Exception as e:
                return "error", "bad completion %r: %s" % (e, data[:200])
            return "ok", None
        lines = [l for l in data.decode("utf-8", "replace").split("\n") if l.startswith("data:")]
        if not lines or lines[-1].strip() != "data: [DONE]":
            return "error", "stream without [DONE]: %s" % (lines[-2:] if lines else data[:200])
        for l in lines[:-1]:
            try:
                j = json.loads(l[5:])
            except Exception:
                return "error", "bad chunk %r" % l[:200]
            if "error" in j:
                return "error", "error event %s" % l[:200]
        return "ok_stream", None

    def worker():
        conn = None
        while time.time() < t_end and not (a.stop_file and os.path.exists(a.stop_file)):
            with lock:
                counter[0] += 1
                n = counter[0]
            fresh = conn is None or not a.keepalive
            if fresh:
                conn = http.client.HTTPConnection(host, port, timeout=60)
            kind, reason = one(conn, fresh, n)
            record(kind, reason)
            if not a.keepalive or kind not in ("ok", "ok_stream"):
                conn.close()
                conn = None
            if kind == "refused":
                break
        if conn:
            conn.close()

    ts = [threading.Thread(target=worker) for _ in range(a.threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps(st))


if __name__ == "__main__":
    main()

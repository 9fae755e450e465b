#!/usr/bin/env python3
"""Deterministic hostile records for Eventide (issue 12).

  gen_records.py SEED_DUMP OUT_DIR [--count N] [--seed S] [--max-bytes B] [--controls Q ...]

Reads the valid records of a real run (`eventide dump` of a log where every event type was
written) and mutates them field by field into N records (default 10,000), seeded: the same seed
dump and seed give the same bytes. Writes

  OUT_DIR/records.txt     for `eventide produce RECORDS_FILE`: TOPIC<tab>KEY<tab>VALUE a line,
                          \\t \\n \\r \\\\ escaped, every other byte raw (NUL, invalid UTF-8)
  OUT_DIR/manifest.jsonl  one line per record, same order: {"i", "cat", "what", "topic",
                          "expect", "letters", "peek", "size"}

Categories: deep (nesting up to 500,000 levels), utf8 (invalid and overlong UTF-8, lone
surrogates), nul (raw and escaped NUL bytes), numbers (1e999, 2^64, -0, ...), dupkey (repeated
JSON keys), mismatch (key / subject / conversationId / id / causation / invocation id of another
conversation), types (every field given every other JSON type, or dropped), huge (records over
the 1 MiB bound, a 10 MB one, a huge key), topic (valid events on another topic), unknown_tool,
garbage (random bytes, truncations, byte flips, non-objects) and valid (renamed copies and
cosmetic variants that must be handled, not dead-lettered).

Every mutated record lives in a conversation of its own ("fz<n>"), so the valid ones run
through the pipeline in isolation. `expect` is what every consumer group reading the topic must
do with it:

  dead    dead-lettered (with a reason) by exactly the groups in `letters`: every reader of the
          topic, except that a tool group passes over a request naming another tool (what
          `peek` holds: the tool the C++ peek_requested_tool reads, mirrored here)
  valid   dead-lettered by no group: handled
  either  each reader dead-letters it or handles it (byte flips, whose validity is not known)

The control questions (--controls) are appended last as UserQueryReceived records of the
conversations control-1, control-2, ...: they must be answered exactly once, as in a clean run.
"""
import argparse
import copy
import json
import math
import os
import random
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import logcheck  # noqa: E402

MAX_RECORD = 1 << 20   # schemas/codec.cpp max_record_bytes
MAX_DEPTH = 64         # core/json.hpp max_depth
READERS = {  # consumer groups per topic (actors/node.cpp role table)
    "user-commands": ["router", "aggregator", "synthesis"],
    "conversation-events": ["router", "orchestrator", "aggregator", "synthesis"],
    "tool-invocation-requests": ["orchestrator"] + [
        "tool-" + t for t in ("getProductInformation", "ragGeneration", "generalChat", "math",
                              "weather", "exchangeRate", "orchestrationSynthesis", "placeOrder",
                              "chargePayment", "shipOrder", "cancelOrder", "refundPayment",
                              "cancelShipment")],
}
SERVED = {g[5:] for g in READERS["tool-invocation-requests"] if g.startswith("tool-")}
# Valid events that only belong to a turn with a plan, and the groups that refuse them alone.
NEEDS_A_PLAN = {"PlanRevised": ["orchestrator"], "PlanRevisionRequested": ["orchestrator", "router"],
                "PlanCompensated": ["orchestrator"], "CompensationFailed": ["orchestrator"],
                "ApprovalRequested": ["orchestrator"], "ApprovalSubmitted": ["orchestrator"],
                "ApprovalGranted": ["orchestrator"], "ApprovalDenied": ["orchestrator"],
                "CancelRequested": ["orchestrator"], "TurnCancelled": ["orchestrator"],
                "CompensationRetryRequested": ["orchestrator"]}
HOME = {
    "UserQueryReceived": "user-commands", "SynthesizeFinalAnswerRequested": "user-commands",
    "ToolInvocationRequested": "tool-invocation-requests",
}
PH = "@@PH@@"


def event_type(value):
    """The "type" of an event record, or None when it does not parse as an object."""
    try:
        doc = json.loads(value)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return doc.get("type") if isinstance(doc, dict) else None


def home_topic(ev):
    return HOME.get(ev["type"], "conversation-events")


# ---- a mirror of the C++ readers' acceptance, for the oracle -----------------------------------

class Refused(Exception):
    pass


def _prescan(b):
    """core/json.cpp prescan: depth bound, lone low-surrogate escapes."""
    depth, in_string, i, n, high_end = 0, False, 0, len(b), -1
    while i < n:
        c = b[i]
        if in_string:
            if c == 0x5C:  # backslash
                v = -1
                if i + 5 < n and b[i + 1] == 0x75 and re.fullmatch(rb"[0-9A-Fa-f]{4}", b[i + 2:i + 6]):
                    v = int(b[i + 2:i + 6], 16)
                if 0xDC00 <= v <= 0xDFFF and high_end != i:
                    return False
                if 0xD800 <= v <= 0xDBFF:
                    high_end = i + 6
                i += 6 if v >= 0 else 2
                continue
            if c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in (0x5B, 0x7B):
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif c in (0x5D, 0x7D):
            depth -= 1
        i += 1
    return True


def _no_dups(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise Refused("duplicate key")
        seen.add(k)
    return dict(pairs)


def _finite(s):
    f = float(s)
    if math.isinf(f):
        raise Refused("number too big")
    return f


def _int(s):
    if math.isinf(float(s)):
        raise Refused("number too big")
    return int(s)


def _constant(s):
    raise Refused(s)


def _no_surrogates(v):
    if isinstance(v, str):
        if re.search("[\ud800-\udfff]", v):
            raise Refused("lone surrogate")
    elif isinstance(v, list):
        for x in v:
            _no_surrogates(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            _no_surrogates(k)
            _no_surrogates(x)


def strict_parse(b):
    """What json::parse accepts (a byte order mark, NUL bytes, depth, UTF-8, lone surrogates,
    repeated keys, numbers out of double range), as a Python value; Refused otherwise."""
    if b.startswith(b"\xef\xbb\xbf") or b"\x00" in b or not _prescan(b):
        raise Refused("prescan")
    try:
        text = b.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_no_dups, parse_float=_finite,
                         parse_int=_int, parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise Refused(str(e))
    _no_surrogates(doc)
    return doc


def peek_tool(b):
    """events::peek_requested_tool: the tool a ToolInvocationRequested names, else None."""
    if len(b) > MAX_RECORD:
        return None
    try:
        doc = strict_parse(b)
    except Refused:
        return None
    if not isinstance(doc, dict) or doc.get("type") != "ToolInvocationRequested":
        return None
    data = doc.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str):
        return None
    return data["tool"]


def letter_groups(topic, value):
    """The groups that must dead-letter an invalid record on `topic`."""
    if topic != "tool-invocation-requests":
        return list(READERS[topic]), None
    tool = peek_tool(value)
    if tool is None:
        return list(READERS[topic]), None
    groups = ["orchestrator"] + (["tool-" + tool] if tool in SERVED else [])
    return groups, tool


# ---- JSON helpers ------------------------------------------------------------------------------

def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def paths(v, prefix=()):
    """Every (path, value) under v, containers before their members."""
    out = [(prefix, v)]
    if isinstance(v, dict):
        for k, x in v.items():
            out += paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += paths(x, prefix + (i,))
    return out


def get(v, path):
    for p in path:
        v = v[p]
    return v


def put(v, path, x):
    get(v, path[:-1])[path[-1]] = x


def with_raw(ev, path, raw):
    """ev serialized with the value at `path` replaced by the raw bytes `raw`."""
    e = copy.deepcopy(ev)
    put(e, path, PH)
    return dumps(e).replace(b'"' + PH.encode() + b'"', raw, 1)


def container_depth(path):
    """Arrays/objects enclosing the value at `path` (the root object counts)."""
    return len(path)


def escape(b):
    return (b.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")
            .replace(b"\t", b"\\t"))


# ---- the generator -------------------------------------------------------------------------------

class Generator:
    def __init__(self, seeds, rng, schemas, max_bytes):
        self.seeds = seeds              # type -> [event dict]
        self.types = sorted(seeds)
        self.rng = rng
        self.schemas = schemas
        self.max_bytes = max_bytes
        self.n = 0
        self.out = []

    # A seed event of `typ` (or any type) moved into a conversation of its own.
    def fresh(self, typ=None):
        typ = typ or self.rng.choice(self.types)
        self.n += 1
        conv = f"fz{self.n:05d}"
        return rename(self.rng.choice(self.seeds[typ]), conv), conv

    def emit(self, cat, what, topic, key, value, expect, letters=None):
        if isinstance(key, str):
            key = key.encode("utf-8", "surrogateescape")
        if len(value) + len(key) > self.max_bytes:
            return False
        if expect == "valid" and letters is None:
            # Every generated event is alone in a conversation of its own: a revision (or its
            # request) then names a turn without a plan, and the roles that fold it refuse it.
            typ = event_type(value)
            if typ in NEEDS_A_PLAN:
                expect, letters = "dead", NEEDS_A_PLAN[typ]
        rec = {"cat": cat, "what": what, "topic": topic, "expect": expect, "size": len(value)}
        if expect == "dead" and letters is not None:
            rec["letters"], rec["peek"] = letters, None  # refused by these roles, read by all
        elif expect == "dead":
            rec["letters"], rec["peek"] = letter_groups(topic, value)
        else:
            rec["letters"], rec["peek"] = [], (peek_tool(value)
                                               if topic == "tool-invocation-requests" else None)
        self.out.append((rec, topic, key, value))
        return True

    def emit_event(self, cat, what, ev, conv, expect, topic=None, value=None, key=None,
                   letters=None):
        return self.emit(cat, what, topic or home_topic(ev), conv if key is None else key,
                         dumps(ev) if value is None else value, expect, letters)

    # -- deep -----------------------------------------------------------------------------------
    def deep(self):
        r = self.rng
        very = r.random() < 0.15  # several hundred thousand levels (1-2 bytes a level)
        d = r.choice([100000, 200000, 300000, 400000, 500000] if very
                     else [65, 66, 70, 100, 257, 1000, 4096, 20000])
        shape = r.choice(["array", "unclosed"] if very else ["array", "object", "mixed", "unclosed"])
        if shape == "array":
            inner = b"[" * d + b"]" * d
        elif shape == "object":
            inner = b'{"a":' * d + b"1" + b"}" * d
        elif shape == "mixed":
            inner = b'[{"a":' * (d // 2) + b"[]" + b"}]" * (d // 2)
        else:
            inner = b"[" * d
        ev, conv = self.fresh()
        where = r.choice(["root", "data", "field"])
        if where == "root":
            return self.emit("deep", f"{shape} {d} levels as the record", home_topic(ev), conv,
                             inner, "dead")
        if where == "data":
            return self.emit_event("deep", f"{shape} {d} levels in data", ev, conv, "dead",
                                   value=with_raw(ev, ("data", "x"), inner))
        path = r.choice([p for p, _ in paths(ev) if p and p[0] == "data" and len(p) > 1])
        return self.emit_event("deep", f"{shape} {d} levels at {fmt(path)}", ev, conv, "dead",
                               value=with_raw(ev, path, inner))

    def deep_allowed(self):
        # Nesting that stays within the bound, in free-form args: valid.
        ev, conv = self.fresh("ToolInvocationRequested")
        d = MAX_DEPTH - container_depth(("data", "args", "nest"))
        return self.emit_event("deep", f"{d} levels in args (total {MAX_DEPTH}, allowed)", ev,
                               conv, "valid", value=with_raw(ev, ("data", "args", "nest"),
                                                             b"[" * d + b"]" * d))

    # -- utf8 -----------------------------------------------------------------------------------
    BAD_UTF8 = [b"\xff", b"\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xe2\x82\x28",
                b"\xf0\x28\x8c\xbc", b"\xf0\x90\x28\xbc", b"\xf8\xa1\xa1\xa1\xa1", b"\x80",
                b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xe0\x9f\xbf", b"\xf0\x80\x80\xaf",
                b"\xf0\x8f\xbf\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
                b"\xe2\x82", b"\xc3"]
    BAD_ESCAPES = [b"\\ud800", b"\\udc00", b"\\udfff", b"\\ud800\\u0041", b"\\udbff\\udbff",
                   b"\\ud800x", b"\\uDC00"]

    def utf8(self):
        r = self.rng
        ev, conv = self.fresh()
        strings = [p for p, v in paths(ev) if isinstance(v, str)]
        path = r.choice(strings)
        text = get(ev, path).encode()
        at = r.randrange(len(text) + 1)
        if r.random() < 0.7:
            bad = r.choice(self.BAD_UTF8)
            what = f"bytes {bad.hex()} in {fmt(path)}"
        else:
            bad = r.choice(self.BAD_ESCAPES)
            what = f"escape {bad.decode()} in {fmt(path)}"
        raw = b'"' + escape_json_bytes(text[:at]) + bad + escape_json_bytes(text[at:]) + b'"'
        if r.random() < 0.15:  # in a member name instead
            e = copy.deepcopy(ev)
            obj = get(e, path[:-1]) if isinstance(get(e, path[:-1]), dict) else e
            obj[PH] = 1
            value = dumps(e).replace(b'"' + PH.encode() + b'"', raw, 1)
            return self.emit_event("utf8", what.replace(" in ", " in a key near "), ev, conv,
                                   "dead", value=value)
        return self.emit_event("utf8", what, ev, conv, "dead", value=with_raw(ev, path, raw))

    # -- nul ------------------------------------------------------------------------------------
    def nul(self):
        r = self.rng
        ev, conv = self.fresh(r.choice(self.types + ["ToolInvocationRequested"] * 3))
        kind = r.choice(["escaped", "escaped", "raw-in-string", "raw-after", "raw-between",
                         "key", "expression"])
        strings = [p for p, v in paths(ev) if isinstance(v, str)]
        if kind == "expression" and ev["type"] == "ToolInvocationRequested":
            ev["data"]["tool"] = "math"
            ev["data"]["args"] = {"expression": "2+3\u0000*1000"}
            return self.emit_event("nul", "math expression 2+3\\u0000*1000", ev, conv, "dead")
        if kind in ("escaped", "expression"):
            path = r.choice(strings)
            s = get(ev, path)
            at = r.randrange(len(s) + 1)
            put(ev, path, s[:at] + "\u0000" + s[at:])
            return self.emit_event("nul", f"\\u0000 in {fmt(path)}", ev, conv, "dead")
        if kind == "key":
            obj = get(ev, r.choice([p for p, v in paths(ev) if isinstance(v, dict)]))
            obj["k\u0000" + r.choice(["", "x", "id"])] = 1
            return self.emit_event("nul", "\\u0000 in a member name", ev, conv, "dead")
        b = dumps(ev)
        if kind == "raw-in-string":
            path = r.choice(strings)
            text = get(ev, path).encode()
            at = r.randrange(len(text) + 1)
            raw = b'"' + escape_json_bytes(text[:at]) + b"\x00" + escape_json_bytes(text[at:]) + b'"'
            return self.emit_event("nul", f"raw NUL in {fmt(path)}", ev, conv, "dead",
                                   value=with_raw(ev, path, raw))
        if kind == "raw-after":  # RapidJSON stopped at a NUL: "{...}\0{...}" parsed as "{...}"
            tail = r.choice([b"", b"garbage", b'{"type":"PlanGenerated"}', b"\x00"])
            return self.emit_event("nul", "raw NUL after the document", ev, conv, "dead",
                                   value=b + b"\x00" + tail)
        at = r.choice([m.start() + 1 for m in re.finditer(rb"[,:]", b)])
        return self.emit_event("nul", "raw NUL between tokens", ev, conv, "dead",
                               value=b[:at] + b"\x00" + b[at:])

    # -- numbers --------------------------------------------------------------------------------
    EXTREMES = ["1e999", "-1e999", "18446744073709551616", "-18446744073709551616",
                "18446744073709551615", "9223372036854775808", "9223372036854775807",
                "-9223372036854775808", "-9223372036854775809", "9007199254740993",
                "9007199254740991", "-0", "-0.0", "0.0", "1e-999", "4.9e-324",
                "1.7976931348623157e308", "1E2", "2147483647", "2147483648", "-2147483649",
                "1" + "0" * 400, "0", "1", "-1", "1.5", "1e308", "123456789012345678901234567890"]
    MALFORMED = ["01", "+1", ".5", "1.", "-", "NaN", "Infinity", "-Infinity", "0x10", "1e",
                 "1_000", "١"]

    def numbers(self):
        r = self.rng
        ev, conv = self.fresh()
        ints = self.integer_fields(ev)
        if r.random() < 0.12:
            lit = r.choice(self.MALFORMED)
            path = r.choice([p for p, v in paths(ev) if p and not isinstance(v, (dict, list))])
            return self.emit_event("numbers", f"malformed number {lit} at {fmt(path)}", ev, conv,
                                   "dead", value=with_raw(ev, path, lit.encode()))
        lit = r.choice(self.EXTREMES)
        if ints and r.random() < 0.6:
            path, lo, hi = r.choice(ints)
            return self.emit_event("numbers", f"{lit} in integer {fmt(path)}", ev, conv,
                                   integer_verdict(lit, lo, hi), value=with_raw(ev, path, lit.encode()))
        # Free-form places: tool args, results, plan step args, a new args member.
        free = [p for p, _ in paths(ev) if len(p) >= 3 and p[:2] in (("data", "args"), ("data", "result"))]
        # (Inside a step's args object: "args" a parent of the path. A compensation's "args"
        # is itself such a path, and must stay an object.)
        free += [p for p, _ in paths(ev) if len(p) >= 6 and p[:2] == ("data", "plan") and "args" in p[:-1]]
        if ev["type"] == "ToolInvocationRequested":
            free.append(("data", "args", "n"))
        if not free:
            ev, conv = self.fresh("ToolInvocationRequested")
            free = [("data", "args", "n")]
        path = r.choice(free)
        e = copy.deepcopy(ev)
        parent = get(e, path[:-1])
        if isinstance(parent, dict) and path[-1] not in parent:
            parent[path[-1]] = 0
        # Any number is a valid value there; one that does not parse makes the record invalid.
        value = with_raw(e, path, lit.encode())
        return self.emit_event("numbers", f"{lit} at {fmt(path)}", e, conv,
                               "valid" if parses(value) else "dead", value=value)

    def integer_fields(self, ev):
        out = []
        data_schema = self.schemas.get(ev["type"], {}).get("properties", {})
        for k, v in ev["data"].items():
            s = data_schema.get(k, {})
            if s.get("type") == "integer":
                out.append((("data", k), s.get("minimum"), s.get("maximum")))
            if k == "tokens" and isinstance(v, dict):
                for t in v:
                    out.append((("data", "tokens", t), 0, 2147483647))
        return out

    # -- dupkey ---------------------------------------------------------------------------------
    def dupkey(self):
        r = self.rng
        ev, conv = self.fresh()
        objs = [p for p, v in paths(ev) if isinstance(v, dict) and v]
        path = r.choice(objs)
        obj = get(ev, path)
        key = r.choice(list(obj))
        how = r.choice(["same", "other", "escaped", "other"])
        if how == "same":
            val = dumps(obj[key])
        elif how == "other":
            val = dumps(other_value(obj[key], r))
        else:
            val = dumps(obj[key])
        name = dumps(key)
        if how == "escaped" and key and key[0].isascii():
            name = b'"' + ("\\u%04x" % ord(key[0])).encode() + dumps(key)[2:]
        e = copy.deepcopy(ev)
        get(e, path)[PH] = 0
        value = dumps(e).replace(b'"' + PH.encode() + b'":0', name + b":" + val, 1)
        return self.emit_event("dupkey", f"key {key!r} repeated ({how}) at {fmt(path) or '/'}",
                               ev, conv, "dead", value=value)

    # -- mismatch -------------------------------------------------------------------------------
    def mismatch(self):
        r = self.rng
        typ = r.choice(self.types + ["ToolInvocationRequested", "ToolInvocationResulted"] * 2)
        ev, conv = self.fresh(typ)
        other = f"fz{self.n + 50000:05d}"
        kinds = ["key-other", "key-empty", "key-suffix", "key-case", "key-huge", "key-bytes",
                 "subject", "subject-slash", "id", "id-uuid", "causation"]
        if ev["type"] == "UserQueryReceived":
            kinds += ["conversationId"] * 3
        if "invocationId" in ev["data"]:
            kinds += ["invocation-other"] * 4 + ["invocation-step", "invocation-bare"]
        kind = r.choice(kinds)
        key = conv
        if kind == "key-other":
            key = other
        elif kind == "key-empty":
            key = ""
        elif kind == "key-suffix":
            key = conv + r.choice([" ", "/x", "\u0000", "\n"])
        elif kind == "key-case":
            key = conv.upper()
        elif kind == "key-huge":
            key = conv * (100000 // len(conv))
        elif kind == "key-bytes":
            key = conv.encode() + b"\xff\xfe"
        elif kind == "subject":
            ev["subject"] = other
            key = other
        elif kind == "subject-slash":
            ev = rename(ev, conv + "/x")
            key = conv + "/x"
        elif kind == "id":
            ev["id"] = other + ev["id"][len(conv):]
        elif kind == "id-uuid":
            ev["id"] = "%08x-0000-4000-8000-%012x" % (r.getrandbits(32), r.getrandbits(48))
        elif kind == "causation":
            ev["causationid"] = other + "/" + r.choice(["query", "plan/1", "1/s1/result/1"])
        elif kind == "conversationId":
            ev["data"]["conversationId"] = other
        elif kind == "invocation-other":  # the hijack of issue 12
            ev["data"]["invocationId"] = other + "/1/" + ev["data"]["stepId"]
        elif kind == "invocation-step":
            ev["data"]["invocationId"] = conv + "/1/" + ev["data"]["stepId"] + "x"
        else:
            ev["data"]["invocationId"] = ev["data"]["stepId"]
        return self.emit_event("mismatch", kind, ev, conv, "dead", key=key)

    # -- types ----------------------------------------------------------------------------------
    SAMPLES = {"string": '"x"', "integer": "7", "number": "2.5", "boolean": "true",
               "null": "null", "array": "[]", "object": "{}"}

    def types_(self):
        r = self.rng
        ev, conv = self.fresh()
        fields = self.typed_fields(ev)
        path, allowed, required = r.choice(fields)
        if r.random() < 0.1:  # dropped
            e = copy.deepcopy(ev)
            del get(e, path[:-1])[path[-1]]
            return self.emit_event("types", f"{fmt(path)} missing", e, conv,
                                   "dead" if required else "either", topic=home_topic(ev))
        wrong = [t for t in self.SAMPLES if t not in allowed
                 and not (t == "integer" and "number" in allowed)]
        t = r.choice(wrong)
        lit = self.SAMPLES[t]
        if t in ("string", "array", "object") and r.random() < 0.5:
            lit = {"string": '"' + r.choice(["", "0", "null", "true", "{}", "1.0"]) + '"',
                   "array": r.choice(['["x"]', "[1,2]", "[null]", "[[]]"]),
                   "object": r.choice(['{"a":1}', '{"":""}', '{"type":"x"}'])}[t]
        return self.emit_event("types", f"{fmt(path)} as {t}", ev, conv, "dead",
                               value=with_raw(ev, path, lit.encode()))

    def typed_fields(self, ev):
        """(path, allowed JSON types, required) of every field with a fixed type."""
        out = []
        env = self.schemas["envelope"]
        for k in ev:
            s = env["properties"][k]
            out.append(((k,), allowed_types(s), k in env["required"]))
        data = self.schemas[ev["type"]]
        for k in ev["data"]:
            s = data["properties"].get(k, {})
            allowed = allowed_types(s, self.schemas)
            if allowed is None:
                continue  # any JSON value (a result, a synthesis request's plan)
            out.append((("data", k), allowed, k in data.get("required", [])))
        for sub, keys in (("planner", ("provider", "model")), ("tokens", ("prompt", "completion"))):
            if isinstance(ev["data"].get(sub), dict):
                for k in keys:
                    out.append((("data", sub, k), ["string"] if sub == "planner" else ["integer"], True))
        plan = ev["data"].get("plan")
        if ev["type"] == "PlanGenerated" and isinstance(plan, dict):
            out.append((("data", "plan", "steps"), ["array"], True))
            for i, step in enumerate(plan.get("steps", [])[:2]):
                for k, t in (("id", "string"), ("tool", "string"), ("args", "object"),
                             ("dependsOn", "array")):
                    if k in step:
                        out.append((("data", "plan", "steps", i, k), [t], k != "dependsOn"))
        return out

    # -- huge -----------------------------------------------------------------------------------
    def huge(self, big):
        r = self.rng
        if big:
            size = r.choice([MAX_RECORD + 1, MAX_RECORD + 100, 1500000, 2 * MAX_RECORD])
            if big == "10MB":
                size = 10 * 1000 * 1000
            ev, conv = self.fresh("UserQueryReceived")
            pad = size - len(dumps(ev)) - len('"x":""') - 1
            ev["data"]["query"] = "x" * pad  # far over maxLength too; the size bound comes first
            return self.emit_event("huge", f"{size} bytes", ev, conv, "dead")
        self.huge_made = getattr(self, "huge_made", 0) + 1
        kind = ["key-600k", "args-900k", "answer-900k", "key-1m",
                "query-4001"][min((self.huge_made - 1) // 2, 4)]
        if kind == "query-4001":
            ev, conv = self.fresh("UserQueryReceived")
            ev["data"]["query"] = "q" * 4001
            return self.emit_event("huge", "query of 4,001 characters", ev, conv, "dead")
        if kind == "args-900k":
            ev, conv = self.fresh("ToolInvocationRequested")
            ev["data"]["args"]["pad"] = "p" * min(900000, self.max_bytes - 2000)
            return self.emit_event("huge", "a request with 900 kB of args", ev, conv, "valid")
        if kind == "answer-900k":
            ev, conv = self.fresh("FinalAnswerSynthesized")
            ev["data"]["answer"] = "a" * min(900000, self.max_bytes - 2000)
            return self.emit_event("huge", "an answer of 900 kB", ev, conv, "valid")
        ev, conv = self.fresh()
        size = 600000 if kind == "key-600k" else 1 << 20  # a letter quoting it must stay small
        return self.emit_event("huge", f"a key of {size} bytes", ev, conv, "dead",
                               key=(conv * (size // len(conv) + 1))[:size])

    # -- topic, unknown tool, garbage, valid -----------------------------------------------------
    def topic(self):
        ev, conv = self.fresh()
        wrong = self.rng.choice([t for t in READERS if t != home_topic(ev)])
        return self.emit_event("topic", f"{ev['type']} on {wrong}", ev, conv, "dead", topic=wrong)

    TOOLS = ["teleport", "MATH", "math ", " math", "mathematics", "getproductinformation",
             "weather2", "exchange_rate", "☃", "t" * 300, "", "math\u0000", "sql; DROP TABLE"]

    def unknown_tool(self):
        ev, conv = self.fresh("ToolInvocationRequested")
        ev["data"]["tool"] = self.rng.choice(self.TOOLS)
        return self.emit_event("unknown_tool", f"tool {ev['data']['tool'][:20]!r}", ev, conv, "dead")

    def garbage(self):
        r = self.rng
        ev, conv = self.fresh()
        b = dumps(ev)
        kind = r.choice(["random", "truncated", "truncated", "flip", "flip", "non-object",
                         "empty", "bom", "prefix"])
        topic = r.choice([home_topic(ev)] * 2 + list(READERS))
        if kind == "random":
            value = bytes(r.getrandbits(8) for _ in range(r.randrange(1, 400)))
        elif kind == "truncated":
            value = b[:r.randrange(0, len(b))]
        elif kind == "flip":
            value = bytearray(b)
            for _ in range(r.randrange(1, 4)):
                value[r.randrange(len(value))] = r.getrandbits(8)
            value = bytes(value)
            return self.emit("garbage", "bytes flipped", topic, conv, value,
                             "either" if parses(value) else "dead")
        elif kind == "non-object":
            value = r.choice([b"[1,2,3]", b'"ToolInvocationRequested"', b"42", b"null", b"true",
                              b"[" + b + b"]", b'"' + escape_json_bytes(b) + b'"'])
        elif kind == "empty":
            value = r.choice([b"", b" ", b"\n", b"\t\r\n "])
        elif kind == "bom":
            value = b"\xef\xbb\xbf" + b
        else:
            value = r.choice([b"x", b"[", b"//", b"/*c*/", b"\x00"]) + b
        return self.emit("garbage", kind, topic, conv, value, "dead")

    def valid(self):
        r = self.rng
        typ = r.choice(self.types)
        if typ == "UserQueryReceived" and r.random() < 0.7:
            typ = "PlanStepCompleted"  # a question runs a whole pipeline: fewer of those
        ev, conv = self.fresh(typ)
        kind = r.choice(["copy", "copy", "pretty", "shuffled", "escaped", "unicode", "no-optional"])
        if kind == "copy":
            return self.emit_event("valid", "renamed copy", ev, conv, "valid")
        if kind == "pretty":
            return self.emit_event("valid", "pretty-printed", ev, conv, "valid",
                                   value=json.dumps(ev, ensure_ascii=False, indent=r.choice([1, 2, "\t"])).encode())
        if kind == "shuffled":
            items = list(ev.items())
            r.shuffle(items)
            data = list(ev["data"].items())
            r.shuffle(data)
            e = dict(items)
            e["data"] = dict(data)
            return self.emit_event("valid", "members shuffled", e, conv, "valid")
        if kind == "escaped":
            return self.emit_event("valid", "all non-ASCII and '/' escaped", ev, conv, "valid",
                                   value=json.dumps(ev, ensure_ascii=True).replace("/", "\\/").encode())
        if kind == "unicode":
            texts = [p for p, v in paths(ev) if isinstance(v, str) and len(p) == 2
                     and p[1] in ("query", "answer", "reason", "userId", "failure")]
            if texts:
                p = r.choice(texts)
                put(ev, p, get(ev, p)[:200] + " — Grüße, 你好, 😀 \u2028")
            return self.emit_event("valid", "non-ASCII text", ev, conv, "valid")
        e = copy.deepcopy(ev)
        for k in ("causationid", "dataschema", "traceparent"):
            e.pop(k, None)
        return self.emit_event("valid", "optional attributes dropped", e, conv, "valid")

    # -- the mix --------------------------------------------------------------------------------
    def generate(self, count, controls):
        plan = [("deep", 0.035, self.deep), ("deep", 0.005, self.deep_allowed),
                ("utf8", 0.07, self.utf8), ("nul", 0.05, self.nul),
                ("numbers", 0.10, self.numbers), ("dupkey", 0.09, self.dupkey),
                ("mismatch", 0.12, self.mismatch), ("types", 0.25, self.types_),
                ("huge", 0.004, lambda: self.huge(False)), ("topic", 0.05, self.topic),
                ("unknown_tool", 0.025, self.unknown_tool), ("garbage", 0.10, self.garbage),
                ("valid", 0.10, self.valid)]
        # The records over the size bound, written once each (if they fit --max-bytes).
        for big in ["big"] * 6 + ["10MB"]:
            self.huge(big)
        body = count - len(self.out) - len(controls)
        quota = []
        for cat, share, f in plan:
            quota += [f] * max(round(share * body), 10 if cat == "huge" else 0)
        while len(quota) < body:
            quota.append(self.types_)
        quota = quota[:body]
        self.rng.shuffle(quota)
        for f in quota:
            while not f():  # too big for --max-bytes: another one
                pass
        for i, q in enumerate(controls, 1):
            conv = f"control-{i}"
            ev = {"specversion": "1.0", "id": conv + "/query", "type": "UserQueryReceived",
                  "source": "eventide/hostile-test", "time": "2026-11-20T10:00:00.000Z",
                  "subject": conv, "datacontenttype": "application/json",
                  "data": {"conversationId": conv, "userId": "control", "query": q,
                           "receivedAt": 1795168800000}}
            self.emit_event("control", q, ev, conv, "valid")
        return self.out


# ---- helpers -----------------------------------------------------------------------------------

def fmt(path):
    return "/" + "/".join(str(p) for p in path)


def escape_json_bytes(b):
    """Bytes of a JSON string body: quote, backslash and control characters escaped."""
    out = bytearray()
    for c in b:
        if c == 0x22:
            out += b'\\"'
        elif c == 0x5C:
            out += b"\\\\"
        elif c < 0x20:
            out += b"\\u%04x" % c
        else:
            out.append(c)
    return bytes(out)


def parses(b):
    try:
        strict_parse(b)
        return True
    except Refused:
        return False


def integer_verdict(lit, lo, hi):
    """What decode makes of literal `lit` in an integer field with bounds [lo, hi]: RapidJSON
    stores an integer literal within int64/uint64 as an integer (-0 as 0); any other number is a
    double, which the schema's "integer" refuses; 1e999 does not parse at all."""
    if not re.fullmatch(r"-?(0|[1-9][0-9]*)", lit):
        return "dead"
    v = int(lit)
    if not (-(1 << 63) <= v <= (1 << 64) - 1):
        return "dead"
    if lo is not None and v < lo or hi is not None and v > hi:
        return "dead"
    return "valid"


def allowed_types(s, schemas=None):
    if "$ref" in s:  # plan.schema.json (an object) or compensations.schema.json (an array)
        name = s["$ref"][:-len(".schema.json")]
        return allowed_types(schemas[name]) if schemas and name in schemas else ["object"]
    if "type" in s:
        t = s["type"]
        return t if isinstance(t, list) else [t]
    if "enum" in s:
        return sorted({json_type(v) for v in s["enum"]})
    return None


def json_type(v):
    return {str: "string", bool: "boolean", int: "integer", float: "number",
            type(None): "null", list: "array", dict: "object"}[type(v)]


def other_value(v, r):
    return r.choice([x for x in ["other", 12345, None, False, [1], {"z": 1}] if x != v])


def rename(ev, conv):
    """A copy of `ev` moved to conversation `conv`: subject, conversationId, and the
    conversation part of id, causationid and invocationId."""
    old = ev["subject"]
    e = copy.deepcopy(ev)
    e["subject"] = conv

    def moved(s):
        return conv + s[len(old):] if s.startswith(old + "/") else s
    e["id"] = moved(e["id"])
    if "causationid" in e:
        e["causationid"] = moved(e["causationid"])
    d = e["data"]
    if "conversationId" in d:
        d["conversationId"] = conv
    if "invocationId" in d:
        d["invocationId"] = moved(d["invocationId"])
    return e


def load_seeds(dump):
    seeds = {}
    for rec in logcheck.read(dump):
        if rec.topic.endswith("dead-letter-queue") or rec.event is None:
            continue
        seeds.setdefault(rec.event["type"], []).append(rec.event)
    return seeds


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("seed_dump")
    ap.add_argument("out_dir")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--max-bytes", type=int, default=12 * 1000 * 1000)
    ap.add_argument("--controls", nargs="*", default=[])
    a = ap.parse_args(argv[1:])
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    schemas = {}
    for name in os.listdir(os.path.join(root, "schemas")):
        if name.endswith(".schema.json"):
            with open(os.path.join(root, "schemas", name)) as f:
                schemas[name[:-len(".schema.json")]] = json.load(f)
    seeds = load_seeds(a.seed_dump)
    missing = sorted(set(t for t in schemas if t[0].isupper()) - set(seeds))
    if missing:
        print(f"gen_records: the seed dump has no {', '.join(missing)}", file=sys.stderr)
        return 2
    for typ in seeds:  # deterministic order whatever the dump's order
        seeds[typ].sort(key=lambda e: dumps(rename(e, "s")))
    g = Generator(seeds, random.Random(a.seed), schemas, a.max_bytes)
    out = g.generate(a.count, a.controls)
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "records.txt"), "wb") as rf, \
            open(os.path.join(a.out_dir, "manifest.jsonl"), "w") as mf:
        for i, (rec, topic, key, value) in enumerate(out):
            rec["i"] = i
            rf.write(topic.encode() + b"\t" + escape(key) + b"\t" + escape(value) + b"\n")
            mf.write(json.dumps(rec, ensure_ascii=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

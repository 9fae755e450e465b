#!/usr/bin/env python3
"""Checks on the raw records of the log, as `eventide dump` prints them (one record a line:
topic, partition, offset, key, value; tab-separated, with \\t \\n \\r \\\\ escaped).

Count records, not ids: an event id may repeat only as a byte-identical copy of its first
record (a producer retry on Kafka 0.9, which has no idempotent producer, or a ledger answering a
duplicate request with the recorded event). Any other repeat -- a decision made again after a
restore, a second answer -- is a violation, and every command below fails on it.

  logcheck.py check DUMP                      all repeats byte-identical; prints a summary
  logcheck.py count DUMP CONV TYPE [STEP]     events of TYPE in conversation CONV (optionally
                                              of one step), after the check
  logcheck.py records DUMP CONV TYPE [STEP]   records of them (repeats included)
  logcheck.py once DUMP TYPE [CONV...]        every turn asked in every CONV (default: every
                                              conversation with a UserQueryReceived) has
                                              exactly one TYPE event
  logcheck.py expect DUMP CONV TYPE[:STEP]=N ...
                                              events of CONV: each TYPE (of STEP) N times;
                                              one dump read for many checks
  logcheck.py value DUMP CONV TYPE [STEP]     the bytes of the first such record (to re-send)
  logcheck.py effects DUMP EFFECTS            every tool run in EFFECTS (EVENTIDE_EFFECT_LOG:
                                              "<tool> <invocationId> <attempt>" a line) ran
                                              once, and every result in the log has its run
  logcheck.py runs EFFECTS INVOCATION_ID      how often that invocation's tool ran
  logcheck.py unique DUMP                     exactly-once on the log (Kafka transactions): no
                                              record repeats at all, byte-identical or not; every
                                              event id, dead letter and poison record once
"""
import collections
import json
import re
import sys

_UNESCAPE = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def _unescape(s):
    return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(0)), s)


class Record:
    __slots__ = ("topic", "partition", "offset", "key", "value", "event")

    def __init__(self, line):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 5:
            raise ValueError(f"not a dump line: {line[:200]!r}")
        self.topic, partition, offset, key, value = parts
        self.partition, self.offset = int(partition), int(offset)
        self.key, self.value = _unescape(key), _unescape(value)
        try:
            ev = json.loads(self.value)
            self.event = ev if isinstance(ev, dict) and isinstance(ev.get("id"), str) else None
        except (ValueError, RecursionError):
            self.event = None  # a poison record (or nested too deep to be one): not an event

    def where(self):
        return f"{self.topic}/{self.partition}@{self.offset}"


def read(path):
    with open(path, encoding="utf-8", errors="surrogateescape", newline="\n") as f:
        return [Record(line) for line in f if line.strip()]


def divergent_repeats(records):
    """Event ids (per topic) whose records are not all byte-identical to the first."""
    first, bad = {}, []
    for r in records:
        if r.event is None or r.topic == "dead-letter-queue":
            continue
        k = (r.topic, r.event["id"])
        if k not in first:
            first[k] = r
        elif first[k].value != r.value:
            bad.append((first[k], r))
    return bad


def check(records):
    bad = divergent_repeats(records)
    if bad:
        lines = [f"{len(bad)} event id(s) repeated with different bytes (a decision made twice):"]
        for a, b in bad[:10]:
            lines.append(f"  {a.event['id']} ({a.event['type']}): {a.where()} vs {b.where()}")
            lines.append(f"    first: {a.value[:300]}")
            lines.append(f"    again: {b.value[:300]}")
        raise AssertionError("\n".join(lines))


def repeated_records(records):
    """Records that repeat an earlier one of their topic: the same event id, or for what is not
    an event (poison, dead letters without an id) the same key and bytes."""
    seen, again = set(), []
    for r in records:
        k = (r.topic, "id", r.event["id"]) if r.event else (r.topic, "bytes", r.key, r.value)
        if k in seen:
            again.append(r)
        seen.add(k)
    return again


def matching(records, conv, typ, step=None):
    out = []
    for r in records:
        ev = r.event
        if ev is None or r.key != conv or ev.get("type") != typ:
            continue
        data = ev.get("data") if isinstance(ev.get("data"), dict) else {}
        if step is None or data.get("stepId") == step:
            out.append(r)
    return out


def turn_of(event):
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    turn = data.get("turn", 1)
    return turn if isinstance(turn, int) else 1


def count_events(records, conv, typ, step=None):
    check(records)
    return len({(r.topic, r.event["id"]) for r in matching(records, conv, typ, step)})


def read_effects(path):
    """(invocation id, attempt) -> how often the tool ran, from an EVENTIDE_EFFECT_LOG file."""
    runs = collections.Counter()
    try:
        with open(path) as f:
            for line in f:
                tool, inv, attempt = line.split()
                runs[(inv, int(attempt))] += 1
    except FileNotFoundError:
        pass
    return runs


def check_effects(records, runs):
    """Every run once; every result event in the log matched by a run (not the reverse: a run
    whose result never reached the log is reported by the run count of its re-run)."""
    check(records)
    twice = {k: n for k, n in runs.items() if n != 1}
    if twice:
        raise AssertionError(f"{len(twice)} tool runs happened more than once "
                             f"(invocation, attempt -> runs): {dict(list(twice.items())[:10])}")
    results = {(r.event["data"]["invocationId"], r.event["data"]["attempt"])
               for r in records if r.event and r.event.get("type") == "ToolInvocationResulted"
               and r.topic.endswith("conversation-events")}
    unmatched = sorted(results - set(runs))
    if unmatched:
        raise AssertionError(f"{len(unmatched)} results in the log without a tool run: "
                             f"{unmatched[:10]}")
    return len(runs), len(results)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "runs":
        print(sum(n for (inv, _), n in read_effects(argv[2]).items() if inv == argv[3]))
        return 0
    cmd, records = argv[1], read(argv[2])
    try:
        if cmd == "check":
            check(records)
            ids = collections.Counter((r.topic, r.event["id"]) for r in records if r.event)
            repeats = sum(n - 1 for n in ids.values())
            print(f"{len(records)} records, {len(ids)} events, {repeats} byte-identical repeats")
        elif cmd == "count":
            print(count_events(records, *argv[3:6]))
        elif cmd == "records":
            check(records)
            print(len(matching(records, *argv[3:6])))
        elif cmd == "once":
            typ, convs = argv[3], argv[4:]
            check(records)
            if not convs:
                convs = sorted({r.key for r in records if r.event
                                and r.event.get("type") == "UserQueryReceived"})
            # Per turn ("turn" absent = 1): a conversation of n turns has n of them.
            wrong, turns = {}, 0
            for c in convs:
                asked = {turn_of(r.event) for r in matching(records, c, "UserQueryReceived")} or {1}
                ids = collections.defaultdict(set)
                for r in matching(records, c, typ):
                    ids[turn_of(r.event)].add((r.topic, r.event["id"]))
                turns += len(asked)
                for t in sorted(asked | set(ids)):
                    if len(ids[t]) != 1 or t not in asked:
                        wrong[c if t == 1 else f"{c} turn {t}"] = len(ids[t])
            if wrong:
                raise AssertionError(f"{len(wrong)} of {turns} turns do not have "
                                     f"exactly one {typ}: {dict(list(wrong.items())[:10])}")
            print(f"{len(convs)} conversations, {turns} turns, one {typ} each")
        elif cmd == "expect":
            conv, wrong = argv[3], []
            for spec in argv[4:]:
                what, _, n = spec.rpartition("=")
                typ, _, step = what.partition(":")
                got = count_events(records, conv, typ, step or None)
                if got != int(n):
                    wrong.append(f"{what}: {got}, expected {n}")
            if wrong:
                raise AssertionError(f"conversation {conv}: " + "; ".join(wrong))
        elif cmd == "value":
            check(records)
            found = matching(records, *argv[3:6])
            if not found:
                raise AssertionError(f"no {argv[4]} record of {argv[3]}")
            sys.stdout.write(found[0].value)
        elif cmd == "unique":
            again = repeated_records(records)
            if again:
                lines = [f"{len(again)} record(s) written more than once:"]
                lines += [f"  {r.where()} {r.event['id'] if r.event else r.value[:120]}"
                          for r in again[:10]]
                raise AssertionError("\n".join(lines))
            print(f"{len(records)} records, none repeated")
        elif cmd == "effects":
            runs, results = check_effects(records, read_effects(argv[3]))
            print(f"{runs} tool runs, each once; {results} results in the log, each from a run")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

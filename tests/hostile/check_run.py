#!/usr/bin/env python3
"""Checks a run over the records of gen_records.py on the raw log (issue 12).

  check_run.py --manifest M --positions P --dump D --stats S [--prefix X]
               [--seed-dump SD --control CONV=QUESTION ...]

  M  gen_records.py's manifest.jsonl; P  what `eventide produce RECORDS_FILE` printed (one
  "topic/partition@offset" per record, same order); D  `eventide dump` of the log after the run
  (dead-letter-queue included); S  `eventide stats --json` after the run.

A record is *dead-lettered* by a group when the dead-letter queue holds a letter from that group
for the record's topic, partition and offset, with a non-empty reason. It is *handled* by a
group when the group acknowledged it without a dead letter: the group's committed offsets
passed it (every group's consumer lag is 0 at the end, so every record of every topic it reads
was acknowledged) and no letter of that group names it. Tool groups acknowledge requests for
other tools without decoding them (passed over: handled). Asserted:

  - every group reading a record's topic dead-lettered it at most once, with a reason;
  - a record the manifest expects `dead` is dead-lettered by exactly the groups it lists, one
    expected `valid` by none (`either`: no more than the above);
  - no record the pipeline wrote itself is dead-lettered (its own readers accept its output);
  - every group's consumer lag is 0, and `stats --json` (the metrics projection of every
    record) is valid UTF-8;
  - each control conversation has exactly one FinalAnswerSynthesized, whose answer is the one
    the same question got in the seed run, and none of its event ids repeats with other bytes.
Prints the figures: records by category, dead-lettered, handled.
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import logcheck  # noqa: E402

from gen_records import READERS  # noqa: E402  (one table of readers per topic)


def answers_by_question(records):
    """question -> answer text, from the conversations of a log."""
    query, answer = {}, {}
    for r in records:
        ev = r.event
        if ev is None:
            continue
        if ev.get("type") == "UserQueryReceived":
            query[r.key] = ev["data"]["query"]
        elif ev.get("type") == "FinalAnswerSynthesized":
            answer[r.key] = ev["data"]["answer"]
    return {query[c]: a for c, a in answer.items() if c in query}


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--positions", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--prefix", default="")
    ap.add_argument("--seed-dump")
    ap.add_argument("--control", action="append", default=[])
    a = ap.parse_args(argv[1:])
    errors = []

    def error(msg):
        if len(errors) < 40:
            errors.append(msg)
        elif len(errors) == 40:
            errors.append("...")

    manifest = [json.loads(line) for line in open(a.manifest)]
    positions = [line.strip() for line in open(a.positions) if line.strip()]
    if len(positions) != len(manifest):
        print(f"FAIL: {len(positions)} positions for {len(manifest)} records", file=sys.stderr)
        return 1
    at = {}  # (topic, partition, offset) -> manifest record
    for m, pos in zip(manifest, positions):
        topic, _, rest = pos.rpartition("/")
        part, _, off = rest.partition("@")
        topic = topic[len(a.prefix):]
        if topic != m["topic"]:
            error(f"record {m['i']} went to {topic}, not {m['topic']}")
        at[(topic, int(part), int(off))] = m

    records = logcheck.read(a.dump)
    letters = collections.defaultdict(lambda: collections.defaultdict(list))
    stray = []
    for r in records:
        if r.topic != "dead-letter-queue":
            continue
        dl = json.loads(r.value)
        if dl.get("redriveOf"):
            continue
        where = (dl["sourceTopic"][len(a.prefix):], dl["partition"], dl["offset"])
        group = dl["consumerGroup"][len(a.prefix):]
        if where not in at:
            stray.append((where, group, dl["reason"]))
            continue
        letters[where][group].append(dl["reason"])
    for where, group, reason in stray[:10]:
        error(f"the pipeline's own record {where[0]}/{where[1]}@{where[2]} was dead-lettered by "
              f"{group}: {reason[:200]}")
    if len(stray) > 10:
        error(f"... {len(stray)} of the pipeline's own records dead-lettered in all")

    by_cat = collections.defaultdict(collections.Counter)
    per_group = collections.defaultdict(collections.Counter)
    reasons = collections.Counter()
    for where, m in at.items():
        got = letters.get(where, {})
        readers = READERS[m["topic"]]
        cat = by_cat[m["cat"]]
        cat["records"] += 1
        for g, rs in got.items():
            if g not in readers:
                error(f"record {m['i']} ({m['cat']}: {m['what']}) on {m['topic']} dead-lettered "
                      f"by {g}, which does not read it")
            if len(rs) != 1:
                error(f"record {m['i']} ({m['cat']}: {m['what']}) dead-lettered {len(rs)} times "
                      f"by {g}")
            if not all(x.strip() for x in rs):
                error(f"record {m['i']} dead-lettered by {g} without a reason")
            reasons[rs[0].split(" (")[0].split(": ")[0][:60]] += 1
        if m["expect"] == "dead" and set(got) != set(m["letters"]):
            error(f"record {m['i']} ({m['cat']}: {m['what']}) on {m['topic']}: dead-lettered by "
                  f"{sorted(got)}, expected {sorted(m['letters'])}"
                  + (f"; reasons {dict((g, r[0][:120]) for g, r in got.items())}" if got else ""))
        if m["expect"] == "valid" and got:
            error(f"record {m['i']} ({m['cat']}: {m['what']}), a valid event, dead-lettered by "
                  f"{dict((g, r[0][:200]) for g, r in got.items())}")
        cat["dead-lettered"] += bool(got)
        cat["handled"] += not got
        cat["letters"] += sum(len(r) for r in got.values())
        for g in readers:
            if g in got:
                per_group[g]["dead-lettered"] += 1
            elif g.startswith("tool-") and m.get("peek") is not None and m["peek"] != g[5:]:
                per_group[g]["passed over"] += 1
            else:
                per_group[g]["handled"] += 1

    raw = open(a.stats, "rb").read()
    try:
        stats = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:  # a record's invalid text reached the metrics output
        error(f"stats --json is not valid UTF-8 ({e}): {raw[max(0, e.start - 80):e.start + 20]!r}")
        stats = json.loads(raw.decode("utf-8", "replace"))
    lag = {g[len(a.prefix):] if g.startswith(a.prefix) else g: n
           for g, n in stats.get("consumerLag", {}).items()}
    for g in sorted({g for gs in READERS.values() for g in gs}):
        if lag.get(g) != 0:
            error(f"group {g}: consumer lag {lag.get(g)} at the end (not every record acknowledged)")

    if a.control:
        expected = answers_by_question(logcheck.read(a.seed_dump)) if a.seed_dump else {}
        for spec in a.control:
            conv, _, question = spec.partition("=")
            mine = [r for r in records if r.key == conv and r.topic != "dead-letter-queue"]
            try:
                logcheck.check(mine)
                n = logcheck.count_events(mine, conv, "FinalAnswerSynthesized")
            except AssertionError as e:
                error(f"control {conv}: {e}")
                continue
            if n != 1:
                error(f"control {conv} ({question}): {n} answers, expected exactly one")
                continue
            answer = next(r.event["data"]["answer"] for r in mine if r.event
                          and r.event.get("type") == "FinalAnswerSynthesized")
            if question not in expected:
                error(f"control {conv}: the seed run did not answer {question!r}")
            elif answer != expected[question]:
                error(f"control {conv} ({question}): answered {answer!r}, the seed run "
                      f"answered {expected[question]!r}")

    total = collections.Counter()
    print(f"{'category':14} {'records':>8} {'dead-lettered':>14} {'handled':>8} {'letters':>8}")
    for c in sorted(by_cat):
        x = by_cat[c]
        total.update(x)
        print(f"{c:14} {x['records']:8} {x['dead-lettered']:14} {x['handled']:8} {x['letters']:8}")
    print(f"{'all':14} {total['records']:8} {total['dead-lettered']:14} {total['handled']:8} "
          f"{total['letters']:8}")
    print("readings per group (dead-lettered / handled / passed over as another tool's):")
    for g in sorted(per_group):
        x = per_group[g]
        print(f"  {g:30} {x['dead-lettered']:6} {x['handled']:6} {x['passed over']:6}")
    print("most frequent reasons:")
    for r, n in reasons.most_common(12):
        print(f"  {n:6}  {r}")
    if errors:
        print("FAIL:\n  " + "\n  ".join(errors), file=sys.stderr)
        return 1
    print(f"ok: every record dead-lettered with a reason or handled by every group reading it; "
          f"lag 0; {len(a.control)} control questions answered exactly once")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

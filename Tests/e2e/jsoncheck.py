#!/usr/bin/env python3
"""Assertions on ipcsweep's JSON output, for the e2e scenarios (stdlib only).

Every sub-command first checks the document's shape against the contract in
SPEC.md, then its own assertion. Exit status 0 when everything holds, 1
otherwise; explanations go to stdout as "# ..." lines (TAP comments).

  jsoncheck.py shape FILE
      a valid list/orphans or clean document.
  jsoncheck.py verdict FILE --type T --ids 1,2 (--is V | --not V) [--absent-ok]
      every listed object is present with verdict V (--is), or has a verdict
      other than V (--not). With --absent-ok an absent object satisfies --not
      (for `orphans`, which leaves in-use objects out).
  jsoncheck.py holder FILE --type T --id N [--pid P] [--command-contains S]
      object N has a holder with pid P and/or whose command contains S.
  jsoncheck.py clean FILE --type T --removed 1,2 [--outcome removed] [--dry-run true|false]
      the results whose outcome is OUTCOME are exactly those ids (of type T),
      and the document's dryRun is as given.
"""
import argparse
import json
import sys

VERDICTS = {"in-use", "orphaned", "suspect", "unknown"}
TYPES = {"sem", "shm", "msg"}
POSIX_TYPES = {"posix-shm", "posix-sem", "posix-mq"}
OUTCOMES = {"removed", "planned", "skipped", "failed"}

problems = []


def complain(msg):
    problems.append(msg)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_user(where, u):
    if not isinstance(u, dict):
        complain(f"{where}: not an object: {u!r}")
        return
    if not is_int(u.get("uid")):
        complain(f"{where}.uid: not an integer: {u.get('uid')!r}")


def check_object(i, o):
    w = f"objects[{i}]"
    if not isinstance(o, dict):
        complain(f"{w}: not an object")
        return
    posix = str(o.get("type", "")).startswith("posix-")
    if o.get("type") not in TYPES and o.get("type") not in POSIX_TYPES:
        complain(f"{w}.type: {o.get('type')!r}")
    for k in (("inode", "size", "blocks", "mode") if posix else ("id", "key", "mode")):
        if not is_int(o.get(k)):
            complain(f"{w}.{k}: not an integer: {o.get(k)!r}")
    if posix:
        for k in ("name", "path"):
            if not isinstance(o.get(k), str):
                complain(f"{w}.{k}: not a string: {o.get(k)!r}")
    check_user(f"{w}.owner", o.get("owner"))
    if not posix:
        check_user(f"{w}.creator", o.get("creator"))
    if o.get("verdict") not in VERDICTS:
        complain(f"{w}.verdict: {o.get('verdict')!r}")
    r = o.get("reasons")
    if not isinstance(r, list) or not all(isinstance(s, str) for s in r):
        complain(f"{w}.reasons: not a list of strings: {r!r}")
    h = o.get("holders")
    if not isinstance(h, list):
        complain(f"{w}.holders: not a list: {h!r}")
    else:
        for j, x in enumerate(h):
            if not isinstance(x, dict) or not is_int(x.get("pid")) or not isinstance(x.get("command"), str) \
                    or "unit" not in x or not (x["unit"] is None or isinstance(x["unit"], str)):
                complain(f"{w}.holders[{j}]: want {{pid:int, command:str, unit:str|null}}, got {x!r}")


def check_result(i, r):
    w = f"results[{i}]"
    if not isinstance(r, dict):
        complain(f"{w}: not an object")
        return
    posix = str(r.get("type", "")).startswith("posix-")
    if r.get("type") not in TYPES and r.get("type") not in POSIX_TYPES:
        complain(f"{w}.type: {r.get('type')!r}")
    for k in (("inode",) if posix else ("id", "key")):
        if not is_int(r.get(k)):
            complain(f"{w}.{k}: not an integer: {r.get(k)!r}")
    if r.get("verdict") not in VERDICTS:
        complain(f"{w}.verdict: {r.get('verdict')!r}")
    if r.get("outcome") not in OUTCOMES:
        complain(f"{w}.outcome: {r.get('outcome')!r}")
    if not isinstance(r.get("reason"), str):
        complain(f"{w}.reason: not a string: {r.get('reason')!r}")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        complain(f"cannot read {path}: {e}")
        return None
    try:
        doc = json.loads(text)
    except ValueError as e:
        complain(f"not one JSON document ({e}); output starts: {text[:300]!r}")
        return None
    if not isinstance(doc, dict):
        complain("top level is not an object")
        return None
    if doc.get("schemaVersion") != 1:
        complain(f"schemaVersion: {doc.get('schemaVersion')!r}, want 1")
    if "objects" in doc:
        if not isinstance(doc["objects"], list):
            complain("objects: not a list")
        else:
            for i, o in enumerate(doc["objects"]):
                check_object(i, o)
    elif "results" in doc:
        if not isinstance(doc.get("dryRun"), bool):
            complain(f"dryRun: not a boolean: {doc.get('dryRun')!r}")
        if not isinstance(doc["results"], list):
            complain("results: not a list")
        else:
            for i, r in enumerate(doc["results"]):
                check_result(i, r)
    else:
        complain(f"neither 'objects' nor 'results' in document; keys: {sorted(doc)}")
    return doc


def ids(s):
    return [int(x) for x in s.split(",") if x.strip()] if s else []


def describe(o):
    hs = ", ".join(f"{h.get('pid')}:{h.get('command')}" for h in o.get("holders") or [])
    return (f"{o.get('type')} id={o.get('id')} verdict={o.get('verdict')} "
            f"reasons={o.get('reasons')} holders=[{hs}]")


def find(doc, typ, i):
    return [o for o in doc.get("objects", []) if isinstance(o, dict) and o.get("type") == typ and o.get("id") == i]


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("shape")
    p.add_argument("file")
    p = sub.add_parser("verdict")
    p.add_argument("file")
    p.add_argument("--type", required=True)
    p.add_argument("--ids", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--is", dest="is_")
    g.add_argument("--not", dest="not_")
    p.add_argument("--absent-ok", action="store_true")
    p = sub.add_parser("holder")
    p.add_argument("file")
    p.add_argument("--type", required=True)
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--command-contains")
    p = sub.add_parser("clean")
    p.add_argument("file")
    p.add_argument("--type", required=True)
    p.add_argument("--removed", required=True, help="comma-separated ids; empty for none")
    p.add_argument("--outcome", default="removed")
    p.add_argument("--dry-run", choices=["true", "false"])
    a = ap.parse_args()

    doc = load(a.file)
    if doc is not None and not problems:
        if a.cmd == "verdict":
            if "objects" not in doc:
                complain("not a list/orphans document")
            for i in ids(a.ids):
                found = find(doc, a.type, i)
                if len(found) > 1:
                    complain(f"{a.type} {i} listed {len(found)} times")
                if not found:
                    if a.is_ or not a.absent_ok:
                        complain(f"{a.type} {i} is not in the output")
                    continue
                o = found[0]
                if a.is_ and o.get("verdict") != a.is_:
                    complain(f"want verdict {a.is_}: {describe(o)}")
                if a.not_ and o.get("verdict") == a.not_:
                    complain(f"must not be {a.not_}: {describe(o)}")
        elif a.cmd == "holder":
            found = find(doc, a.type, a.id)
            if not found:
                complain(f"{a.type} {a.id} is not in the output")
            else:
                o = found[0]
                hs = o.get("holders") or []
                ok = [h for h in hs
                      if (a.pid is None or h.get("pid") == a.pid)
                      and (a.command_contains is None or a.command_contains in str(h.get("command")))]
                if not ok:
                    complain(f"no holder with pid={a.pid} command~{a.command_contains!r}: {describe(o)}")
        elif a.cmd == "clean":
            if "results" not in doc:
                complain("not a clean document")
            else:
                if a.dry_run is not None and doc.get("dryRun") != (a.dry_run == "true"):
                    complain(f"dryRun is {doc.get('dryRun')!r}, want {a.dry_run}")
                got = sorted(r.get("id") for r in doc["results"]
                             if r.get("type") == a.type and r.get("outcome") == a.outcome)
                want = sorted(ids(a.removed))
                if got != want:
                    complain(f"{a.outcome} {a.type} ids {got}, want exactly {want}")
                    for r in doc["results"]:
                        complain(f"  result: {r}")

    for m in problems:
        print(f"#   {m}")
    if problems and doc is not None and a.cmd in ("verdict", "holder") and "objects" in doc:
        print(f"#   (the output has {len(doc['objects'])} objects)")
        for o in doc["objects"][:20]:
            print(f"#   {describe(o)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

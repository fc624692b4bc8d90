#!/usr/bin/python3
"""removeipc_compare.py: compares what `ipcsweep audit --format json` said systemd-logind's RemoveIPC= would
destroy with what the real logind destroyed, object by object (used by e2e-removeipc-logind.sh).

  removeipc_compare.py PHASE AUDIT.json BEFORE AFTER UID [--root PREFIX]

BEFORE and AFTER are snapshots taken inside the sandbox just before and just after the user's last logout,
independent of ipcsweep, one object per line:
  sysv KIND ID KEY UID CUID NATTCH      (from /proc/sysvipc; NATTCH is - for sets and queues)
  fs TYPE UID PATH                      (find /dev/shm /dev/mqueue -mindepth 1 -printf '%y %U %p\\n')
An object is "KIND ID" (System V) or its path. --root strips a prefix from the audit's paths (a run from the
host through /proc/PID/root).

Prints one table row per object ("# PHASE | object | owner | audit | logind") and then lines
"ok ..." / "FAIL ..." for the checks; exits 1 when a check failed.
"""
import json
import sys


def snapshot(path):
    objs = {}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "sysv":
            objs["%s %s" % (f[1], f[2])] = {"owner": int(f[4]), "creator": int(f[5]), "nattch": f[6], "key": f[3]}
        elif f[0] == "fs":
            objs[" ".join(f[3:])] = {"owner": int(f[2]), "type": f[1]}
    return objs


def ident(item, root):
    if "id" in item:
        return "%s %d" % (item["type"], item["id"])
    p = item["path"]
    return p[len(root):] if root and p.startswith(root) else p


def main(argv):
    phase, audit_path, before_path, after_path, uid = argv[1:6]
    uid = int(uid)
    root = argv[argv.index("--root") + 1] if "--root" in argv else ""
    rm = json.load(open(audit_path))["removeIPC"]
    before, after = snapshot(before_path), snapshot(after_path)
    destroyed = {k for k in before if k not in after}
    at_risk, attached = {}, {}
    for f in rm["atRisk"]:
        for o in f["objects"]:
            at_risk[ident(o, root)] = f["uid"]
    for a in rm["attached"]:
        for o in a["objects"]:
            attached[ident(o, root)] = a["uid"]
    flagged_uid = {k for k, u in at_risk.items() if u == uid}

    for k in sorted(set(before) | set(at_risk) | set(attached)):
        owner = before.get(k, {}).get("owner", "?")
        extra = ""
        if k.startswith(("sem ", "shm ", "msg ")) and k in before:
            b = before[k]
            extra = " creator %d" % b["creator"] if b["creator"] != b["owner"] else ""
            extra += " attached" if b["nattch"] not in ("-", "0") else ""
        audit = "atRisk" if k in at_risk else "attached" if k in attached else "-"
        logind = "destroyed" if k in destroyed else "survived" if k in before else "absent"
        print("# %s | %s | uid %s%s | %s | %s" % (phase, k, owner, extra, audit, logind))

    failed = 0

    def check(ok, what):
        nonlocal failed
        print(("ok " if ok else "FAIL ") + what)
        failed += 0 if ok else 1

    check(flagged_uid == destroyed,
          "%s: the audit's atRisk for uid %d is exactly what logind destroyed (%d objects)%s" % (
              phase, uid, len(destroyed),
              "" if flagged_uid == destroyed else ": flagged only %s, destroyed only %s" % (
                  sorted(flagged_uid - destroyed), sorted(destroyed - flagged_uid))))
    survivors = sorted(k for k in attached if k in destroyed)
    check(not survivors, "%s: every segment listed as attached survived%s" % (phase, " (" + ", ".join(survivors) + " did not)" if survivors else ""))
    unlisted = sorted(k for k, o in before.items() if rm["enabled"] and k.startswith("shm ") and o["owner"] == uid
                      and o["nattch"] not in ("-", "0") and k not in attached)
    check(not unlisted, "%s: every attached segment of uid %d is in the attached list (none with RemoveIPC=no)%s" % (phase, uid, " (" + ", ".join(unlisted) + " is not)" if unlisted else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

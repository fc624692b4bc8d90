extension ObjectFields {
    /// The fields every kind has (or every kind of one family, where the other has no such thing).
    public static let common: [F] = [
        F("type", "TYPE", help: "The kind: sem, shm, msg, posix-shm, posix-sem or posix-mq.", layout: ColumnLayout(minWidth: 3),
          jsonKeys: ["type"],
          text: { c, _ in Table.Cell(c.object.kind.rawValue) },
          json: { c, w, _ in
              w.key("type")
              w.string(c.object.kind.rawValue)
          }),
        F("id", "ID", help: "The id of a System V object (ipcrm's argument).", kinds: IPCKind.sysv, layout: ColumnLayout(right: true),
          jsonKeys: ["id"],
          text: { c, _ in Table.Cell(IPCTextFormat.decimal(Int64(c.object.id))) },
          json: { c, w, _ in
              w.key("id")
              w.int(c.object.id)
          }),
        F("key", "KEY", help: "The key of a System V object, in hex (JSON: key as the kernel stores it, signed, and keyHex).",
          kinds: IPCKind.sysv, layout: ColumnLayout(minWidth: 10), jsonKeys: ["key", "keyHex"],
          text: { c, _ in Table.Cell(IPCTextFormat.hexKey(c.object.perm.key)) },
          json: { c, w, _ in
              w.key("key")
              w.int(c.object.perm.key)
              w.key("keyHex")
              w.hexString(c.object.perm.unsignedKey, prefix: "0x", digits: 8)
          }),
        F("owner", "OWNER", help: "The owner (and the creator when it differs); JSON {uid, user}.",
          layout: ColumnLayout(flexible: true, minWidth: 6), jsonKeys: ["owner"],
          text: { c, ctx in Table.Cell(ctx.ownerText(uid: c.object.perm.uid, cuid: c.object.perm.cuid)) },
          json: { c, w, ctx in
              w.key("owner")
              w.who(c.object.perm.uid, group: false, ctx)
          },
          detail: { c, ctx in [("owner", who(c.object.perm.uid, c.object.perm.gid, ctx))] }),
        F("creator", "CREATOR", help: "The creator of a System V object; JSON {uid, user}.", kinds: IPCKind.sysv,
          layout: ColumnLayout(flexible: true, minWidth: 6), jsonKeys: ["creator"],
          text: { c, ctx in Table.Cell(ctx.users.displayUser(c.object.perm.cuid)) },
          json: { c, w, ctx in
              w.key("creator")
              w.who(c.object.perm.cuid, group: false, ctx)
          },
          detail: { c, ctx in [("creator", who(c.object.perm.cuid, c.object.perm.cgid, ctx))] }),
        F("group", "GROUP", help: "The group; JSON {gid, group}.", layout: ColumnLayout(flexible: true, minWidth: 5),
          jsonKeys: ["group"],
          text: { c, ctx in Table.Cell(ctx.users.groupName(c.object.perm.gid) ?? String(c.object.perm.gid)) },
          json: { c, w, ctx in
              w.key("group")
              w.who(c.object.perm.gid, group: true, ctx)
          }),
        F("creator-group", "CGROUP", help: "The creator's group of a System V object; JSON creatorGroup {gid, group}.",
          kinds: IPCKind.sysv, layout: ColumnLayout(flexible: true, minWidth: 5), jsonKeys: ["creatorGroup"],
          text: { c, ctx in Table.Cell(ctx.users.groupName(c.object.perm.cgid) ?? String(c.object.perm.cgid)) },
          json: { c, w, ctx in
              w.key("creatorGroup")
              w.who(c.object.perm.cgid, group: true, ctx)
          }),
        F("perms", "PERMS", help: "The permission bits (mode & 0777) in octal, as lsipc shows them; a POSIX object with an ACL beyond them has a \"+\".",
          layout: ColumnLayout(minWidth: 4), jsonKeys: ["perms"],
          text: { c, _ in Table.Cell(IPCTextFormat.octal(c.object.perm.permissionBits) + (c.object.acl == nil ? "" : "+")) },
          json: { c, w, _ in
              w.key("perms")
              w.octalString(c.object.perm.permissionBits, digits: 4)
          },
          detail: { c, _ in
              guard c.object.family == .sysv else { return [] }
              let bits = c.object.perm.permissionBits
              return [("perms", "\(IPCTextFormat.octal(bits)) \(IPCTextFormat.modeString(bits))")]
          }),
        F("status", "STATUS", help: "A segment's flags, as ipcs -m shows them: dest (SHM_DEST), locked (SHM_LOCKED); a default table shows the column only when some row has one.",
          layout: ColumnLayout(minWidth: 6),
          text: { c, ctx in
              let s = c.object.family == .sysv ? IPCTextFormat.status(c.object.perm.mode) : ""
              return Table.Cell(s.isEmpty && ctx.style != .csv ? "-" : s)
          },
          detail: { c, _ in
              guard case .shm(let s) = c.object else { return [] }
              let flags = IPCTextFormat.status(s.perm.mode)
              guard !flags.isEmpty else { return [] }
              var meaning: [String] = []
              if s.markedForRemoval { meaning.append("marked for removal (SHM_DEST): freed at the last detach") }
              if s.locked { meaning.append("locked in memory (SHM_LOCK)") }
              return [("status", "\(flags): \(meaning.joined(separator: "; "))")]
          }),
        F("mode", "MODE", help: "The mode as rwx letters (a segment's with dest/locked; JSON: the whole mode word as a number).",
          layout: ColumnLayout(minWidth: 9), jsonKeys: ["mode"],
          text: { c, _ in
              let m = c.object.perm.mode
              return Table.Cell(IPCTextFormat.modeString(c.object.family == .sysv ? m : m & 0o777))
          },
          json: { c, w, _ in
              w.key("mode")
              w.int(c.object.perm.mode)
          },
          detail: { c, _ in
              guard let o = c.object.posix else { return [] }
              return [("mode", "\(IPCTextFormat.octal(o.mode & 0o7777)) \(IPCTextFormat.modeString(o.mode & 0o777))")]
          }),
        F("size", "SIZE", help: "Semaphores, bytes or messages (JSON: a segment's or POSIX object's size in bytes).",
          layout: ColumnLayout(right: true), jsonKeys: ["size"], jsonKinds: IPCKind.posix.union([.shm]),
          text: { c, _ in Table.Cell(c.object.sizeSummary) },
          json: { c, w, _ in
              switch c.object {
              case .shm(let s):
                  w.key("size")
                  w.int(s.size)
              case .posix(let o):
                  w.key("size")
                  w.int(o.size)
              default: return
              }
          },
          detail: { c, _ in
              switch c.object {
              case .shm(let s):
                  return [("size", "\(s.size) bytes" + (s.usedBytes.map { ", \($0) bytes of memory used" } ?? "")
                               + (s.rss.map { " (rss \($0)" + (s.swap.map { ", swap \($0))" } ?? ")") } ?? ""))]
              case .posix(let o) where o.queue == nil && o.kind != .posixMq:
                  return [("size", "\(o.size) bytes, \(o.usedBytes) bytes of memory used (\(o.blocks) blocks)")]
              default: return []
              }
          }),
        time("last-activity", "LAST-ACTIVITY", "The latest of the change time and the operation times (a POSIX object: its last change, mtime and ctime; a queue's mtime).",
             all, key: "lastActivity", iso: "lastActivityISO", nanoseconds: "lastActivityNanoseconds",
             detail: { c, ctx in c.object.family == .sysv ? [("last activity", when(c.object.lastActivity, ctx))] : [] }) {
            if case .posix(let o) = $0 { return o.lastChange }
            return FileTime(seconds: $0.lastActivity)
        },
        time("ctime", "CTIME", "The last change (creation, IPC_SET, SETVAL/SETALL; a POSIX object's st_ctime).", all,
             key: "ctime", iso: "ctimeISO", nanoseconds: "ctimeNanoseconds",
             detail: { c, ctx in
                 if let o = c.object.posix { return [("changed", PosixFields.when(o.ctime, ctx))] }
                 return [("changed", when(c.object.ctime, ctx))]
             }) {
            if case .posix(let o) = $0 { return o.ctime }
            return FileTime(seconds: $0.ctime)
        },
        F("pids", "PIDS", help: "The pids the kernel recorded (sempid, cpid, lpid, lspid, lrpid), without 0; a POSIX object's holders.",
          layout: ColumnLayout(flexible: true, minWidth: 4), jsonKeys: ["pids"], inDefaultJSON: false,
          text: { c, _ in
              let l = pids(c)
              return Table.Cell(l.isEmpty ? "-" : l.map(String.init).joined(separator: ","))
          },
          json: { c, w, _ in
              w.key("pids")
              w.beginArray()
              for p in pids(c) {
                  w.element()
                  w.int(p)
              }
              w.endArray()
          }),
        F("verdict", "VERDICT", help: "in-use, orphaned, suspect or unknown.", layout: ColumnLayout(minWidth: 7),
          jsonKeys: ["verdict"],
          text: { c, _ in Table.Cell(c.verdict.rawValue, color: VerdictColor.code(c.verdict)) },
          json: { c, w, _ in
              w.key("verdict")
              w.string(c.verdict.rawValue)
          }),
        F("reason", "REASON", help: "The most decisive reason.", layout: ColumnLayout(flexible: true, minWidth: 12),
          jsonKeys: ["reason"], inDefaultJSON: false,
          text: { c, _ in Table.Cell(c.reasons.first ?? "") },
          json: { c, w, _ in
              w.key("reason")
              w.string(c.reasons.first ?? "")
          }),
        F("reasons", "REASONS", help: "Every reason, most decisive first.", layout: ColumnLayout(flexible: true, minWidth: 12),
          jsonKeys: ["reasons"],
          text: { c, _ in Table.Cell(c.reasons.joined(separator: "; ")) },
          json: { c, w, _ in
              w.key("reasons")
              w.strings(c.reasons)
          }),
        F("evidence", "EVIDENCE", help: "The typed evidence behind the verdict (JSON: [{kind, ...}]; a table: the kinds).",
          layout: ColumnLayout(flexible: true, minWidth: 8), jsonKeys: ["evidence"],
          text: { c, _ in Table.Cell(c.evidence.isEmpty ? "-" : c.evidence.map(\.kind).joined(separator: ",")) },
          json: { c, w, _ in
              w.key("evidence")
              w.evidence(c.evidence)
          }),
        holders("holders", "HOLDERS", "The processes that hold it (attached, a live recorded pid, a descriptor, a mapping, a queue's notification).",
                key: "holders") { $0.holders },
        holders("possible-holders", "POSSIBLE-HOLDERS", "The processes that may hold it (suspect).",
                key: "possibleHolders") { $0.possibleHolders },
        F("namespace", "NAMESPACE", help: "The IPC namespace, as INODE OWNER (--namespace, --all-namespaces; JSON {inode, owner, pid}, only then); a default table shows the column only when some row has one.",
          layout: ColumnLayout(flexible: true, minWidth: 10), jsonKeys: ["namespace"],
          text: { c, _ in Table.Cell(c.namespace.map { "\($0.inode) \($0.owner)" } ?? "-") },
          json: { c, w, _ in
              guard let ns = c.namespace else { return }
              w.key("namespace")
              w.namespace(ns)
          }),
    ]
}

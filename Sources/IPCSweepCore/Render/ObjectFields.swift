/// The fields of a classified object: one table per kind (and one for what every kind has), read by the
/// `list`/`orphans`/`show` table, CSV and JSON and by `--columns`. The manual's COLUMNS and JSON OUTPUT
/// sections list the same names (`DocumentationDriftTests` checks that they do).
///
/// A new kind (POSIX shared memory, semaphores, queues) is one more table here plus its case in `fields`.
public enum ObjectFields {
    public typealias F = Field<Classification>

    /// The table of list, orphans and show.
    public static let table = FieldTable<Classification>(
        fields: common + sem + shm + msg,
        defaultColumns: ["type", "id", "key", "owner", "perms", "status", "size", "last-activity", "pids", "verdict"],
        kindOf: { $0.object.kind })

    /// The columns a table shows for these rows: STATUS (dest, locked) only when some row has a flag, unless
    /// `--columns` asked for it.
    public static func tableColumns(_ columns: [F], for items: [Classification], posix: [PosixClassification] = [],
                                    selection: ColumnSelection) -> [F] {
        let cut = csvColumns(columns, for: items, posix: posix, selection: selection)
        guard selection == .defaults, !items.contains(where: { !IPCTextFormat.status($0.object.perm.mode).isEmpty }) else {
            return cut
        }
        return cut.filter { $0.name != "status" }
    }

    /// The columns a CSV (and a table) has for these rows: NAMESPACE first when some row has one (--namespace,
    /// --all-namespaces) and `--columns` did not choose the columns.
    public static func csvColumns(_ columns: [F], for items: [Classification], posix: [PosixClassification] = [],
                                  selection: ColumnSelection) -> [F] {
        switch selection {
        case .only, .all: return columns
        case .defaults, .adding: break
        }
        guard items.contains(where: { $0.namespace != nil }) || posix.contains(where: { $0.namespace != nil }), !columns.contains(where: { $0.name == "namespace" }),
              let ns = table.field("namespace") else { return columns }
        return [ns] + columns
    }
    /// orphans: the defaults and the decisive reason.
    public static let orphansColumns = table.defaultColumns + ["reason"]

    // MARK: builders

    /// A number of one kind (nil value: null in JSON, "-" in a table).
    static func number(_ name: String, _ header: String, _ help: String, _ kinds: Set<IPCKind>, key: StaticString,
                       _ value: @escaping (IPCObject) -> Int64?) -> F {
        F(name, header, help: help, kinds: kinds, layout: ColumnLayout(right: true, minWidth: 3), jsonKeys: [key],
          text: { c, _ in Table.Cell(value(c.object).map(String.init) ?? "-") },
          json: { c, w, _ in
              w.key(key)
              if let v = value(c.object) { w.int(v) } else { w.null() }
          })
    }

    /// A time: epoch seconds and its ISO-8601 twin in JSON; relative (and absolute) in a table.
    static func time(_ name: String, _ header: String, _ help: String, _ kinds: Set<IPCKind>, key: StaticString,
                     iso: StaticString, _ value: @escaping (IPCObject) -> Int64) -> F {
        F(name, header, help: help, kinds: kinds, layout: ColumnLayout(flexible: true, minWidth: 10), jsonKeys: [key, iso],
          text: { c, ctx in Table.Cell(ctx.when(value(c.object))) },
          json: { c, w, ctx in
              let t = value(c.object)
              w.key(key)
              w.int(t)
              w.key(iso)
              w.raw(ctx.isoJSON(t))
          })
    }

    static func bool(_ name: String, _ header: String, _ help: String, _ kinds: Set<IPCKind>, key: StaticString,
                     _ value: @escaping (IPCObject) -> Bool) -> F {
        F.flag(name, header, help: help, kinds: kinds, key: key) { value($0.object) }
    }

    static func holders(_ name: String, _ header: String, _ help: String, key: StaticString,
                        _ list: @escaping (Classification) -> [Holder]) -> F {
        F(name, header, help: help, layout: ColumnLayout(flexible: true, minWidth: 8), jsonKeys: [key],
          text: { c, _ in
              let l = list(c)
              return Table.Cell(l.isEmpty ? "-" : l.map { "\($0.pid) \($0.command)" }.joined(separator: ", "))
          },
          json: { c, w, ctx in
              w.key(key)
              w.beginArray()
              for h in list(c) {
                  w.element()
                  w.beginObject()
                  w.key("command")
                  w.string(h.command)
                  w.key("pid")
                  w.int(h.pid)
                  w.key("relation")
                  switch h.relation {
                  case .attached: w.plainString("attached")
                  case .recorded: w.plainString("recorded")
                  case .possible: w.plainString("possible")
                  }
                  w.key("uid")
                  w.int(h.uid)
                  w.key("unit")
                  w.string(h.unit)
                  w.key("user")
                  w.raw(ctx.userJSON(h.uid))
                  w.endObject()
              }
              w.endArray()
          })
    }

    static func user(_ c: Classification, _ ctx: RenderContext) -> String {
        ctx.ownerText(uid: c.object.perm.uid, cuid: c.object.perm.cuid)
    }

    /// Recorded pids, deduplicated, as "812,813" (0 omitted).
    static func pids(_ o: IPCObject) -> [Int32] {
        var seen: Set<Int32> = []
        var out: [Int32] = []
        o.forEachRecordedPid { r in if r.pid > 0 && seen.insert(r.pid).inserted { out.append(r.pid) } }
        return out
    }

    // MARK: every kind

    static let all = Set(IPCKind.allCases)

    public static let common: [F] = [
        F("type", "TYPE", help: "The kind: sem, shm or msg.", layout: ColumnLayout(minWidth: 3), jsonKeys: ["type"],
          text: { c, _ in Table.Cell(c.object.kind.rawValue) },
          json: { c, w, _ in
              w.key("type")
              switch c.object.kind {
              case .sem: w.plainString("sem")
              case .shm: w.plainString("shm")
              case .msg: w.plainString("msg")
              }
          }),
        F("id", "ID", help: "The id (ipcrm's argument).", layout: ColumnLayout(right: true), jsonKeys: ["id"],
          text: { c, _ in Table.Cell(String(c.object.id)) },
          json: { c, w, _ in
              w.key("id")
              w.int(c.object.id)
          }),
        F("key", "KEY", help: "The key, in hex (JSON: key as the kernel stores it, signed, and keyHex).",
          layout: ColumnLayout(minWidth: 10), jsonKeys: ["key", "keyHex"],
          text: { c, _ in Table.Cell(IPCTextFormat.hexKey(c.object.perm.key)) },
          json: { c, w, _ in
              w.key("key")
              w.int(c.object.perm.key)
              w.key("keyHex")
              w.hexString(c.object.perm.unsignedKey, prefix: "0x", digits: 8)
          }),
        F("owner", "OWNER", help: "The owner (and the creator when it differs); JSON {uid, user}.",
          layout: ColumnLayout(flexible: true, minWidth: 6), jsonKeys: ["owner"],
          text: { c, ctx in Table.Cell(user(c, ctx)) },
          json: { c, w, ctx in
              w.key("owner")
              w.who(c.object.perm.uid, group: false, ctx)
          }),
        F("creator", "CREATOR", help: "The creator; JSON {uid, user}.", layout: ColumnLayout(flexible: true, minWidth: 6),
          jsonKeys: ["creator"],
          text: { c, ctx in Table.Cell(ctx.users.displayUser(c.object.perm.cuid)) },
          json: { c, w, ctx in
              w.key("creator")
              w.who(c.object.perm.cuid, group: false, ctx)
          }),
        F("group", "GROUP", help: "The group; JSON {gid, group}.", layout: ColumnLayout(flexible: true, minWidth: 5),
          jsonKeys: ["group"],
          text: { c, ctx in Table.Cell(ctx.users.groupName(c.object.perm.gid) ?? String(c.object.perm.gid)) },
          json: { c, w, ctx in
              w.key("group")
              w.who(c.object.perm.gid, group: true, ctx)
          }),
        F("creator-group", "CGROUP", help: "The creator's group; JSON creatorGroup {gid, group}.",
          layout: ColumnLayout(flexible: true, minWidth: 5), jsonKeys: ["creatorGroup"],
          text: { c, ctx in Table.Cell(ctx.users.groupName(c.object.perm.cgid) ?? String(c.object.perm.cgid)) },
          json: { c, w, ctx in
              w.key("creatorGroup")
              w.who(c.object.perm.cgid, group: true, ctx)
          }),
        F("perms", "PERMS", help: "The permission bits (mode & 0777) in octal, as lsipc shows them.",
          layout: ColumnLayout(minWidth: 4), jsonKeys: ["perms"],
          text: { c, _ in Table.Cell(IPCTextFormat.octal(c.object.perm.permissionBits)) },
          json: { c, w, _ in
              w.key("perms")
              w.octalString(c.object.perm.permissionBits, digits: 4)
          }),
        F("status", "STATUS", help: "A segment's flags, as ipcs -m shows them: dest (SHM_DEST), locked (SHM_LOCKED); a default table shows the column only when some row has one.",
          layout: ColumnLayout(minWidth: 6),
          text: { c, ctx in
              let s = IPCTextFormat.status(c.object.perm.mode)
              return Table.Cell(s.isEmpty && ctx.style != .csv ? "-" : s)
          }),
        F("mode", "MODE", help: "The mode as rwx letters with dest/locked (JSON: the whole mode word as a number).",
          layout: ColumnLayout(minWidth: 9), jsonKeys: ["mode"],
          text: { c, _ in Table.Cell(IPCTextFormat.modeString(c.object.perm.mode)) },
          json: { c, w, _ in
              w.key("mode")
              w.int(c.object.perm.mode)
          }),
        F("size", "SIZE", help: "Semaphores, bytes or messages (JSON: a segment's size in bytes).",
          layout: ColumnLayout(right: true), jsonKeys: ["size"], jsonKinds: [.shm],
          text: { c, _ in Table.Cell(c.object.sizeSummary) },
          json: { c, w, _ in
              guard case .shm(let s) = c.object else { return }
              w.key("size")
              w.int(s.size)
          }),
        time("last-activity", "LAST-ACTIVITY", "The latest of the change time and the operation times.", all,
             key: "lastActivity", iso: "lastActivityISO") { $0.lastActivity },
        time("ctime", "CTIME", "The last change (creation, IPC_SET, SETVAL/SETALL).", all, key: "ctime", iso: "ctimeISO") { $0.ctime },
        F("pids", "PIDS", help: "The pids the kernel recorded (sempid, cpid, lpid, lspid, lrpid), without 0.",
          layout: ColumnLayout(flexible: true, minWidth: 4), jsonKeys: ["pids"], inDefaultJSON: false,
          text: { c, _ in
              let l = pids(c.object)
              return Table.Cell(l.isEmpty ? "-" : l.map(String.init).joined(separator: ","))
          },
          json: { c, w, _ in
              w.key("pids")
              w.beginArray()
              for p in pids(c.object) {
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
              switch c.verdict {
              case .inUse: w.plainString("in-use")
              case .orphaned: w.plainString("orphaned")
              case .suspect: w.plainString("suspect")
              case .unknown: w.plainString("unknown")
              }
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
        holders("holders", "HOLDERS", "The processes that hold it (attached, or a live recorded pid).", key: "holders") { $0.holders },
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

    // MARK: semaphore sets

    public static let sem: [F] = [
        number("nsems", "NSEMS", "The number of semaphores.", [.sem], key: "nsems") {
            if case .sem(let s) = $0 { return Int64(s.nsems) }
            return nil
        },
        time("otime", "OTIME", "The last semop.", [.sem], key: "otime", iso: "otimeISO") {
            if case .sem(let s) = $0 { return s.otime }
            return 0
        },
        F("semaphores", "SEMAPHORES", help: "Each semaphore as value/pid/ncnt/zcnt (JSON: [{num, value, pid, ncnt, zcnt}], null when unreadable).",
          kinds: [.sem], layout: ColumnLayout(flexible: true, minWidth: 10), jsonKeys: ["semaphores"],
          text: { c, _ in
              guard case .sem(let s) = c.object, let sems = s.semaphores else { return Table.Cell("-") }
              return Table.Cell(sems.map { "\($0.value)/\($0.pid)/\($0.ncnt)/\($0.zcnt)" }.joined(separator: " "))
          },
          json: { c, w, _ in
              guard case .sem(let s) = c.object else { return }
              w.key("semaphores")
              guard let sems = s.semaphores else { return w.null() }
              w.beginArray()
              for (n, sem) in sems.enumerated() {
                  w.element()
                  w.beginObject()
                  w.key("ncnt")
                  w.int(sem.ncnt)
                  w.key("num")
                  w.int(n)
                  w.key("pid")
                  w.int(sem.pid)
                  w.key("value")
                  w.int(sem.value)
                  w.key("zcnt")
                  w.int(sem.zcnt)
                  w.endObject()
              }
              w.endArray()
          }),
        F("detail-error", "DETAIL-ERROR", help: "Why the semaphores could not be read (null when they could).",
          kinds: [.sem], layout: ColumnLayout(flexible: true, minWidth: 10), jsonKeys: ["detailError"],
          text: { c, _ in
              guard case .sem(let s) = c.object else { return Table.Cell("-") }
              return Table.Cell(s.detailError ?? "-")
          },
          json: { c, w, _ in
              guard case .sem(let s) = c.object else { return }
              w.key("detailError")
              w.string(s.detailError)
          }),
    ]

    // MARK: shared memory segments

    static func segment<T>(_ f: @escaping (SharedMemorySegment) -> T?) -> (IPCObject) -> T? {
        { if case .shm(let s) = $0 { return f(s) } else { return nil } }
    }

    public static let shm: [F] = [
        number("cpid", "CPID", "The creator's pid.", [.shm], key: "cpid", segment { Int64($0.cpid) }),
        number("lpid", "LPID", "The last shmat/shmdt pid.", [.shm], key: "lpid", segment { Int64($0.lpid) }),
        number("nattch", "NATTCH", "The number of attachments (mappings, not processes).", [.shm], key: "nattch",
               segment { Int64(clamping: $0.nattch) }),
        time("atime", "ATIME", "The last attach.", [.shm], key: "atime", iso: "atimeISO") { segment { $0.atime }($0) ?? 0 },
        time("dtime", "DTIME", "The last detach.", [.shm], key: "dtime", iso: "dtimeISO") { segment { $0.dtime }($0) ?? 0 },
        number("rss", "RSS", "Resident bytes (from /proc/sysvipc/shm; null when it has no such column).", [.shm], key: "rss", segment { $0.rss.map { Int64(clamping: $0) } }),
        number("swap", "SWAP", "Swapped bytes (from /proc/sysvipc/shm; null when it has no such column).", [.shm], key: "swap", segment { $0.swap.map { Int64(clamping: $0) } }),
        number("used", "USED", "Memory really used: rss + swap bytes (SIZE counts the holes too; null when not known).", [.shm],
               key: "usedBytes", segment { $0.usedBytes.map { Int64(clamping: $0) } }),
        bool("dest", "DEST", "Marked for removal (SHM_DEST): goes at the last detach.", [.shm], key: "markedForRemoval") {
            segment { $0.markedForRemoval }($0) ?? false
        },
        bool("locked", "LOCKED", "Locked in memory (SHM_LOCK).", [.shm], key: "locked") { segment { $0.locked }($0) ?? false },
    ]

    // MARK: message queues

    static func queue<T>(_ f: @escaping (MessageQueue) -> T?) -> (IPCObject) -> T? {
        { if case .msg(let q) = $0 { return f(q) } else { return nil } }
    }

    public static let msg: [F] = [
        number("cbytes", "CBYTES", "Bytes queued.", [.msg], key: "cbytes", queue { Int64(clamping: $0.cbytes) }),
        number("qnum", "QNUM", "Messages queued.", [.msg], key: "qnum", queue { Int64(clamping: $0.qnum) }),
        number("qbytes", "QBYTES", "The queue's capacity in bytes (null with --source proc).", [.msg], key: "qbytes",
               queue { $0.qbytes.map { Int64(clamping: $0) } }),
        number("lspid", "LSPID", "The last sender's pid.", [.msg], key: "lspid", queue { Int64($0.lspid) }),
        number("lrpid", "LRPID", "The last receiver's pid.", [.msg], key: "lrpid", queue { Int64($0.lrpid) }),
        time("stime", "STIME", "The last msgsnd.", [.msg], key: "stime", iso: "stimeISO") { queue { $0.stime }($0) ?? 0 },
        time("rtime", "RTIME", "The last msgrcv.", [.msg], key: "rtime", iso: "rtimeISO") { queue { $0.rtime }($0) ?? 0 },
    ]
}

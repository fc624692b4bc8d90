extension ObjectFields {
    /// "812 (apache2, apache2.service)", "812 (exited)", "0 (none, or not visible from this pid namespace)".
    static func pidText(_ pid: Int32, _ ctx: RenderContext) -> String {
        guard pid > 0 else { return "0 (none, or not visible from this pid namespace)" }
        guard let p = ctx.processes?.process(forRecordedPid: pid) else { return "\(pid) (exited)" }
        let state = p.isDeadOrZombie ? ", zombie" : ""
        return "\(pid) (\(p.comm)\(p.unit.map { ", " + $0 } ?? "")\(state))"
    }

    /// `f` of the payload of one kind, called at once (nil for another kind).
    static func ifSem<T>(_ o: IPCObject, _ f: (SemaphoreSet) -> T) -> T? { if case .sem(let s) = o { return f(s) } else { return nil } }
    static func ifShm<T>(_ o: IPCObject, _ f: (SharedMemorySegment) -> T) -> T? { if case .shm(let s) = o { return f(s) } else { return nil } }
    static func ifMsg<T>(_ o: IPCObject, _ f: (MessageQueue) -> T) -> T? { if case .msg(let q) = o { return f(q) } else { return nil } }
    static func ifPosix<T>(_ o: IPCObject, _ f: (PosixIPCObject) -> T) -> T? { if case .posix(let p) = o { return f(p) } else { return nil } }

    // MARK: semaphore sets

    static func set<T>(_ f: @escaping @Sendable (SemaphoreSet) -> T?) -> @Sendable (IPCObject) -> T? {
        { if case .sem(let s) = $0 { return f(s) } else { return nil } }
    }

    public static let sem: [F] = [
        number("nsems", "NSEMS", "The number of semaphores.", [.sem], key: "nsems",
               detail: { c, _ in ifSem(c.object) { [("semaphores", String($0.nsems))] } ?? [] }, set { Int64($0.nsems) }),
        time("otime", "OTIME", "The last semop.", [.sem], key: "otime", iso: "otimeISO",
             detail: { c, ctx in ifSem(c.object) { [("last semop", when($0.otime, ctx))] } ?? [] }) {
            FileTime(seconds: set { $0.otime }($0) ?? 0)
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

    static func segment<T>(_ f: @escaping @Sendable (SharedMemorySegment) -> T?) -> @Sendable (IPCObject) -> T? {
        { if case .shm(let s) = $0 { return f(s) } else { return nil } }
    }

    public static let shm: [F] = [
        number("cpid", "CPID", "The creator's pid.", [.shm], key: "cpid",
               detail: { c, ctx in ifShm(c.object) { [("creator pid", pidText($0.cpid, ctx))] } ?? [] }, segment { Int64($0.cpid) }),
        number("lpid", "LPID", "The last shmat/shmdt pid.", [.shm], key: "lpid",
               detail: { c, ctx in ifShm(c.object) { [("last pid", pidText($0.lpid, ctx))] } ?? [] }, segment { Int64($0.lpid) }),
        number("nattch", "NATTCH", "The number of attachments (mappings, not processes).", [.shm], key: "nattch",
               detail: { c, _ in
                   ifShm(c.object) { [("attached", "\($0.nattch) time\($0.nattch == 1 ? "" : "s") (nattch)")] } ?? []
               }, segment { Int64(clamping: $0.nattch) }),
        time("atime", "ATIME", "The last attach (a segment); the last access (a POSIX object's st_atime).",
             IPCKind.posix.union([.shm]), key: "atime", iso: "atimeISO", nanoseconds: "atimeNanoseconds",
             detail: { c, ctx in
                 if let o = c.object.posix { return [("accessed", PosixFields.when(o.atime, ctx))] }
                 return ifShm(c.object) { [("last attach", when($0.atime, ctx))] } ?? []
             }) {
            if case .posix(let o) = $0 { return o.atime }
            return FileTime(seconds: segment { $0.atime }($0) ?? 0)
        },
        time("dtime", "DTIME", "The last detach.", [.shm], key: "dtime", iso: "dtimeISO",
             detail: { c, ctx in ifShm(c.object) { [("last detach", when($0.dtime, ctx))] } ?? [] }) {
            FileTime(seconds: segment { $0.dtime }($0) ?? 0)
        },
        number("rss", "RSS", "Resident bytes (from /proc/sysvipc/shm; null when it has no such column).", [.shm], key: "rss", segment { $0.rss.map { Int64(clamping: $0) } }),
        number("swap", "SWAP", "Swapped bytes (from /proc/sysvipc/shm; null when it has no such column).", [.shm], key: "swap", segment { $0.swap.map { Int64(clamping: $0) } }),
        bool("dest", "DEST", "Marked for removal (SHM_DEST): goes at the last detach.", [.shm], key: "markedForRemoval") {
            segment { $0.markedForRemoval }($0) ?? false
        },
        bool("locked", "LOCKED", "Locked in memory (SHM_LOCK).", [.shm], key: "locked") { segment { $0.locked }($0) ?? false },
    ]

    // MARK: message queues

    static func queue<T>(_ f: @escaping @Sendable (MessageQueue) -> T?) -> @Sendable (IPCObject) -> T? {
        { if case .msg(let q) = $0 { return f(q) } else { return nil } }
    }

    public static let msg: [F] = [
        number("cbytes", "CBYTES", "Bytes queued.", [.msg], key: "cbytes", queue { Int64(clamping: $0.cbytes) }),
        number("qnum", "QNUM", "Messages queued.", [.msg], key: "qnum",
               detail: { c, _ in
                   ifMsg(c.object) { q in
                       [("queue", "\(q.qnum) message\(q.qnum == 1 ? "" : "s"), \(q.cbytes) bytes" + (q.qbytes.map { " of \($0)" } ?? ""))]
                   } ?? []
               }, queue { Int64(clamping: $0.qnum) }),
        number("qbytes", "QBYTES", "The queue's capacity in bytes (null with --source proc).", [.msg], key: "qbytes",
               queue { $0.qbytes.map { Int64(clamping: $0) } }),
        number("lspid", "LSPID", "The last sender's pid.", [.msg], key: "lspid",
               detail: { c, ctx in ifMsg(c.object) { [("last sender", pidText($0.lspid, ctx))] } ?? [] }, queue { Int64($0.lspid) }),
        number("lrpid", "LRPID", "The last receiver's pid.", [.msg], key: "lrpid",
               detail: { c, ctx in ifMsg(c.object) { [("last receiver", pidText($0.lrpid, ctx))] } ?? [] }, queue { Int64($0.lrpid) }),
        time("stime", "STIME", "The last msgsnd.", [.msg], key: "stime", iso: "stimeISO",
             detail: { c, ctx in ifMsg(c.object) { [("last send", when($0.stime, ctx))] } ?? [] }) {
            FileTime(seconds: queue { $0.stime }($0) ?? 0)
        },
        time("rtime", "RTIME", "The last msgrcv.", [.msg], key: "rtime", iso: "rtimeISO",
             detail: { c, ctx in ifMsg(c.object) { [("last receive", when($0.rtime, ctx))] } ?? [] }) {
            FileTime(seconds: queue { $0.rtime }($0) ?? 0)
        },
    ]
}

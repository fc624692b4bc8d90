/// `show`: one object in depth, as text for a person.
public struct ObjectDetail {
    public var users: UserDirectory
    public var processes: ProcessTable
    public var now: Double
    public var color: Bool

    public init(users: UserDirectory, processes: ProcessTable, now: Double, color: Bool) {
        self.users = users
        self.processes = processes
        self.now = now
        self.color = color
    }

    private func when(_ t: Int64) -> String {
        t == 0 ? "never" : "\(TimeFormat.local(t)) (\(TimeFormat.relative(t, now: now)))"
    }

    private func pidText(_ pid: Int32) -> String {
        guard pid > 0 else { return "0 (none, or not visible from this pid namespace)" }
        guard let p = processes.process(forRecordedPid: pid) else { return "\(pid) (exited)" }
        let state = p.isDeadOrZombie ? ", zombie" : ""
        return "\(pid) (\(p.comm)\(p.unit.map { ", " + $0 } ?? "")\(state))"
    }

    public func render(_ c: Classification) -> String {
        let o = c.object
        let p = o.perm
        var lines: [String] = []
        func field(_ name: String, _ value: String) {
            lines.append("  " + name.padding(toLength: 16) + value)
        }
        lines.append("\(o.kind.noun) \(o.id), key \(IPCTextFormat.hexKey(p.key)) (\(p.key))")
        if let ns = c.namespace {
            field("IPC namespace", "\(ns.inode) (\(ns.owner)\(ns.owner.hasPrefix("pid ") ? "" : ns.pid.map { ", pid \($0)" } ?? ""))")
        }
        field("owner", "\(users.displayUser(p.uid)) (uid \(p.uid)), group \(users.displayGroup(p.gid)) (gid \(p.gid))")
        field("creator", "\(users.displayUser(p.cuid)) (uid \(p.cuid)), group \(users.displayGroup(p.cgid)) (gid \(p.cgid))")
        field("perms", "\(IPCTextFormat.octal(p.permissionBits)) \(IPCTextFormat.modeString(p.permissionBits))")
        field("changed", when(o.ctime))
        switch o {
        case .sem(let s):
            field("semaphores", String(s.nsems))
            field("last semop", when(s.otime))
        case .shm(let s):
            field("size", "\(s.size) bytes" + (s.usedBytes.map { ", \($0) bytes of memory used" } ?? "")
                + (s.rss.map { " (rss \($0)" + (s.swap.map { ", swap \($0))" } ?? ")") } ?? ""))
            field("attached", "\(s.nattch) time\(s.nattch == 1 ? "" : "s") (nattch)")
            field("creator pid", pidText(s.cpid))
            field("last pid", pidText(s.lpid))
            field("last attach", when(s.atime))
            field("last detach", when(s.dtime))
            let flags = IPCTextFormat.status(p.mode)
            if !flags.isEmpty {
                var meaning: [String] = []
                if s.markedForRemoval { meaning.append("marked for removal (SHM_DEST): freed at the last detach") }
                if s.locked { meaning.append("locked in memory (SHM_LOCK)") }
                field("status", "\(flags): \(meaning.joined(separator: "; "))")
            }
        case .msg(let q):
            field("queue", "\(q.qnum) message\(q.qnum == 1 ? "" : "s"), \(q.cbytes) bytes" + (q.qbytes.map { " of \($0)" } ?? ""))
            field("last sender", pidText(q.lspid))
            field("last receiver", pidText(q.lrpid))
            field("last send", when(q.stime))
            field("last receive", when(q.rtime))
        }
        field("last activity", when(o.lastActivity))
        let verdict = color ? "\u{1B}[\(VerdictColor.code(c.verdict))m\(c.verdict.rawValue)\u{1B}[0m" : c.verdict.rawValue
        field("verdict", verdict)
        lines.append("  evidence:")
        lines += c.reasons.map { "    - " + $0 }
        if case .sem(let s) = o {
            if let sems = s.semaphores {
                let t = Table(
                    columns: [.init("NUM", right: true), .init("VALUE", right: true), .init("PID", right: true),
                              .init("PROCESS"), .init("NCNT", right: true), .init("ZCNT", right: true)],
                    rows: sems.enumerated().map { n, sem in
                        [.init(String(n)), .init(String(sem.value)), .init(String(sem.pid)),
                         .init(sem.pid > 0 ? pidText(sem.pid).drop { $0 != "(" }.description : "-"),
                         .init(String(sem.ncnt)), .init(String(sem.zcnt))]
                    })
                lines.append("  per semaphore:")
                lines += t.render(width: nil, headings: true, color: false).split(separator: "\n").map { "    " + $0 }
            } else if let e = s.detailError {
                lines.append("  per semaphore: \(e)")
            }
        }
        let holders = c.holders + c.possibleHolders
        if !holders.isEmpty {
            let t = Table(
                columns: [.init("PID", right: true), .init("COMMAND"), .init("USER"), .init("UNIT"), .init("RELATION")],
                rows: holders.map { h in
                    [.init(String(h.pid)), .init(h.command), .init(users.displayUser(h.uid)), .init(h.unit ?? "-"),
                     .init(h.relation.rawValue)]
                })
            lines.append("  processes:")
            lines += t.render(width: nil, headings: true, color: false).split(separator: "\n").map { "    " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padding(toLength n: Int) -> String {
        count >= n ? self + " " : self + String(repeating: " ", count: n - count)
    }
}

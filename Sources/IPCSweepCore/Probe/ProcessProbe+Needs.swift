#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The reads that complete a table read for the verdicts only (`ProcessProbe.needs`): the processes the evidence
/// names, their parents, and the units of the holders a verdict shows.
extension ProcessProbe {
    /// Reads stat and the namespaces (what `record` reads when the credentials may reach an object) of the
    /// processes among `pids` known only by their status, then of the parents of every process so read (whether
    /// a process may have been re-parented compares its start with its parent's). Vanished ones stay as they were.
    /// Returns the records completed (as the table now has them).
    @discardableResult
    public func addDetail(to table: inout ProcessTable, pids: some Sequence<Int32>) -> [ProcessRecord] {
        var records = table.byPid
        var changed: [ProcessRecord] = []
        func complete(_ pids: some Sequence<Int32>, reader: ProcFileReader, boot: Double, ticks: Double) {
            for pid in pids {
                guard let p = records[pid], !p.files.contains(.stat) else { continue }
                guard case .success(let dir) = openProcess(pid) else { continue }
                defer { kernel.close(dir) }
                // Its status was read with the table: not again (nil: read it now).
                let known = Self.statusFields(of: p).map { Optional($0) }
                guard var r = detail(pid, dir: dir, status: known, boot: boot, ticksPerSecond: ticks, reader: reader)
                else { continue }
                r.attachedSegments = p.attachedSegments
                r.posixHandles = p.posixHandles
                r.handlesUnreadable = p.handlesUnreadable
                records[pid] = r
                changed.append(r)
            }
        }
        let wanted = pids.filter { records[$0].map { !$0.files.contains(.stat) } ?? false }
        let parents = { () -> [Int32] in
            records.values.filter { $0.files.contains(.stat) && $0.ppid > 0 }
                .compactMap { records[$0.ppid].flatMap { $0.files.contains(.stat) ? nil : $0.pid } }
        }
        guard !wanted.isEmpty || !parents().isEmpty else { return [] }
        let reader = newReader()
        let boot = table.bootInstant ?? bootInstant()
        let ticks = ticksPerSecond()
        complete(wanted, reader: reader, boot: boot, ticks: ticks)
        complete(Set(parents()), reader: reader, boot: boot, ticks: ticks)
        records = [:]  // the table's own dictionary is then the only one: updated in place
        table.update(changed)
        return changed
    }

    /// Clock ticks per second (sysconf), 100 when it cannot be read.
    func ticksPerSecond() -> Double {
        let t = Double(sysconf(Int32(_SC_CLK_TCK)))
        return t > 0 ? t : 100
    }

    /// The units of the holders these verdicts show, for a table read without cgroups: /proc/PID/cgroup of each
    /// holder whose cgroup was not read (into the table), then every holder's unit from the table (a holder may
    /// come from a classifier's cache made before its cgroup was read). A unit is shown, it never decides a
    /// verdict, so it is read after the verdicts, for the few processes they name.
    public func fillUnits<C: MutableCollection<Classification>>(_ results: inout C, table: inout ProcessTable) {
        var missing: Set<Int32> = []
        var any = false
        for i in results.indices {
            results[i].forEachHolder { h in
                any = true
                if table.byPid[h.pid]?.files.contains(.cgroup) == false { missing.insert(h.pid) }
            }
        }
        guard any else { return }
        if !missing.isEmpty { addCgroups(to: &table, pids: missing) }
        // A record's unit is parsed from its cgroup at each use: once per pid here, not once per holder named.
        let records = table.byPid
        var units: [Int32: String?] = [:]
        for i in results.indices {
            results[i].fillUnits { pid in
                if let known = units[pid] { return known }
                let u = records[pid]?.unit
                units[pid] = .some(u)
                return u
            }
        }
    }

    /// Reads /proc/PID/cgroup of these pids into the table (a vanished process keeps no cgroup).
    public func addCgroups(to table: inout ProcessTable, pids: some Sequence<Int32>) {
        let reader = newReader()
        var read: [ProcessRecord] = []
        for pid in pids {
            guard var p = table.byPid[pid], !p.files.contains(.cgroup) else { continue }
            if case .success(let dir) = openProcess(pid) {
                p.cgroup = reader.read(dir, "cgroup", whole: true, { Self.parseCgroup($0) }) ?? nil
                kernel.close(dir)
            }
            p.files.insert(.cgroup)
            read.append(p)
        }
        table.update(read)
    }
}

extension Classification {
    /// Calls `body` with every holder it names (direct, possible, and in its evidence).
    func forEachHolder(_ body: (Holder) -> Void) {
        holders.forEach(body)
        possibleHolders.forEach(body)
        for e in evidence { if let h = e.holder { body(h) } }
    }

    /// Sets the unit of every holder it names (`unit` of its pid), after a classification over a table read
    /// without cgroups. Arrays whose units are already right are left alone: they are often shared with the
    /// classifier's cache and other objects' classifications (writing would copy each).
    mutating func fillUnits(_ unit: (Int32) -> String?) {
        if holders.contains(where: { $0.unit != unit($0.pid) }) {
            for i in holders.indices { holders[i].unit = unit(holders[i].pid) }
        }
        if possibleHolders.contains(where: { $0.unit != unit($0.pid) }) {
            for i in possibleHolders.indices { possibleHolders[i].unit = unit(possibleHolders[i].pid) }
        }
        if evidence.contains(where: { e in e.holder.map { $0.unit != unit($0.pid) } ?? false }) {
            for i in evidence.indices { evidence[i].setHolderUnit(unit) }
        }
    }
}

extension Evidence {
    /// The process it names as holding (or having held) the object.
    var holder: Holder? {
        switch self {
        case .attached(let h), .openDescriptor(let h, _), .mapped(let h, _), .queueNotification(let h),
             .liveRecordedPid(_, _, let h), .recordedPidZombie(_, _, let h), .possibleHolder(let h, _, _, _, _, _):
            return h
        default:
            return nil
        }
    }

    mutating func setHolderUnit(_ unit: (Int32) -> String?) {
        switch self {
        case .attached(var h):
            h.unit = unit(h.pid)
            self = .attached(h)
        case .openDescriptor(var h, let fds):
            h.unit = unit(h.pid)
            self = .openDescriptor(holder: h, fds: fds)
        case .mapped(var h, let n):
            h.unit = unit(h.pid)
            self = .mapped(holder: h, mappings: n)
        case .queueNotification(var h):
            h.unit = unit(h.pid)
            self = .queueNotification(holder: h)
        case .liveRecordedPid(let role, let rp, var h):
            h.unit = unit(h.pid)
            self = .liveRecordedPid(role: role, recordedPid: rp, holder: h)
        case .recordedPidZombie(let role, let rp, var h):
            h.unit = unit(h.pid)
            self = .recordedPidZombie(role: role, recordedPid: rp, holder: h)
        case .possibleHolder(var h, let rule, let timing, let started, let last, let widened):
            h.unit = unit(h.pid)
            self = .possibleHolder(holder: h, rule: rule, timing: timing, started: started, lastActivity: last, widened: widened)
        default:
            break
        }
    }
}

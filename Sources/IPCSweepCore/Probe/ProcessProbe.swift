#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the process table in one pass over /proc.
///
/// Per process: /proc/PID/stat (ppid, state, comm, start ticks), status (uids),
/// cgroup, exe, cmdline and ns/ipc. /proc/PID/maps is read in a second pass only
/// for the processes the caller names (those that could map an attached segment).
public struct ProcessProbe: Sendable {
    public var procRoot: String

    public init(procRoot: String = "/proc") { self.procRoot = procRoot }

    /// The boot instant in epoch seconds: CLOCK_REALTIME − CLOCK_BOOTTIME on a live system
    /// (sub-second precise); `btime` of a procfs copy's `stat` otherwise.
    public func bootInstant() -> Double {
        if procRoot == "/proc" {
            var real = timespec()
            var boot = timespec()
            clock_gettime(CLOCK_REALTIME, &real)
            clock_gettime(CLOCK_BOOTTIME, &boot)
            return (Double(real.tv_sec) + Double(real.tv_nsec) / 1e9) - (Double(boot.tv_sec) + Double(boot.tv_nsec) / 1e9)
        }
        if let text = try? FileIO.readText("\(procRoot)/stat"),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
           let v = Double(line.dropFirst(6).trimmingCharacters(in: " ")) {
            return v
        }
        return 0
    }

    /// Every process under procRoot. Entries that vanish while being read are skipped.
    public func read() throws -> ProcessTable {
        let pids = try FileIO.numericEntries(procRoot)
        let boot = bootInstant()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var records: [ProcessRecord] = []
        records.reserveCapacity(pids.count)
        for pid in pids {
            if let r = record(pid, boot: boot, ticksPerSecond: ticks > 0 ? ticks : 100) { records.append(r) }
        }
        let own = FileIO.readLink("\(procRoot)/self/ns/ipc").flatMap(Self.namespaceInode)
        return ProcessTable(processes: records, ownIPCNamespace: procRoot == "/proc" ? own : nil)
    }

    /// One process, or nil when its /proc entry vanished or is unreadable.
    public func record(_ pid: Int32, boot: Double, ticksPerSecond: Double) -> ProcessRecord? {
        let dir = "\(procRoot)/\(pid)"
        guard let stat = try? FileIO.read("\(dir)/stat", sizeHint: 512),
              let parsed = Self.parseStat(stat) else { return nil }
        guard let status = try? FileIO.read("\(dir)/status", sizeHint: 2048),
              let ids = Self.parseStatusIDs(status) else { return nil }
        let cgroup = (try? FileIO.read("\(dir)/cgroup", sizeHint: 1024)).flatMap(Self.parseCgroup)
        let cmdline = (try? FileIO.read("\(dir)/cmdline", sizeHint: 512)).map(Self.joinCmdline) ?? ""
        return ProcessRecord(
            pid: pid, ppid: parsed.ppid, state: parsed.state, uid: ids.uid, euid: ids.euid, comm: parsed.comm,
            exe: FileIO.readLink("\(dir)/exe"), cmdline: cmdline,
            startTime: boot + Double(parsed.startTicks) / ticksPerSecond,
            cgroup: cgroup, ipcNamespace: FileIO.readLink("\(dir)/ns/ipc").flatMap(Self.namespaceInode))
    }

    /// Adds /proc/PID/maps SysV attachments for the given pids.
    public func addAttachments(to table: inout ProcessTable, for pids: [Int32]) {
        var records = table.byPid
        for pid in pids {
            guard var r = records[pid], let maps = try? FileIO.read("\(procRoot)/\(pid)/maps", sizeHint: 16384) else {
                continue
            }
            r.attachedSegments = Self.parseMapsSysV(maps)
            records[pid] = r
        }
        table = ProcessTable(processes: Array(records.values), threadGroups: table.threadGroups,
                             ownIPCNamespace: table.ownIPCNamespace, mapsRead: true, warnings: table.warnings)
    }

    /// Resolves pids that are not in the table but are threads (/proc/TID/status `Tgid:`) to their thread group.
    public func resolveThreads(in table: inout ProcessTable, pids: some Sequence<Int32>) {
        for pid in pids where pid > 0 && table.byPid[pid] == nil && table.threadGroups[pid] == nil {
            guard let status = try? FileIO.read("\(procRoot)/\(pid)/status", sizeHint: 2048),
                  let ids = Self.parseStatusIDs(status), ids.tgid != pid else { continue }
            table.threadGroups[pid] = ids.tgid
        }
    }

    // MARK: pure parsers

    /// /proc/PID/stat: comm is between the first '(' and the last ')'; fields after it are space separated.
    public static func parseStat(_ bytes: [UInt8]) -> (comm: String, state: Character, ppid: Int32, startTicks: UInt64)? {
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open else { return nil }
        let comm = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        let rest = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // rest[0] is field 3 (state); field 4 ppid is rest[1]; field 22 starttime is rest[19].
        guard rest.count > 19, let stateByte = rest[0].first,
              let ppid = Int32(String(decoding: rest[1], as: UTF8.self)),
              let start = UInt64(String(decoding: rest[19], as: UTF8.self)) else { return nil }
        return (comm, Character(Unicode.Scalar(stateByte)), ppid, start)
    }

    /// /proc/PID/status: real and effective uid, and the thread group id.
    public static func parseStatusIDs(_ bytes: [UInt8]) -> (uid: UInt32, euid: UInt32, tgid: Int32)? {
        var uid: UInt32?
        var euid: UInt32?
        var tgid: Int32?
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            if line.starts(with: Array("Uid:".utf8)) {
                let f = line.dropFirst(4).split(whereSeparator: { $0 == 9 || $0 == 32 })
                if f.count >= 2 {
                    uid = UInt32(String(decoding: f[0], as: UTF8.self))
                    euid = UInt32(String(decoding: f[1], as: UTF8.self))
                }
            } else if line.starts(with: Array("Tgid:".utf8)) {
                tgid = Int32(String(decoding: line.dropFirst(5), as: UTF8.self).trimmingCharacters(in: " \t"))
            }
            if uid != nil, tgid != nil { break }
        }
        guard let u = uid, let e = euid, let t = tgid else { return nil }
        return (u, e, t)
    }

    /// /proc/PID/cgroup: the `name=systemd` (cgroup v1) path when present and not the root, else the v2 `0::` path.
    public static func parseCgroup(_ bytes: [UInt8]) -> String? {
        var v1: String?
        var v2: String?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1] == "name=systemd" { v1 = String(parts[2]) }
            else if parts[0] == "0" && parts[1].isEmpty { v2 = String(parts[2]) }
        }
        if let v1, v1 != "/" { return v1 }
        return v2 ?? v1
    }

    /// /proc/PID/maps: the inode (= shmid) of every `/SYSV%08x` mapping.
    public static func parseMapsSysV(_ bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        let marker = Array("/SYSV".utf8)
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            guard line.count > marker.count, line.firstRange(of: marker) != nil else { continue }
            // address perms offset dev inode path
            let f = line.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: true)
            guard f.count >= 6, let inode = Int64(String(decoding: f[4], as: UTF8.self)),
                  let id = Int32(exactly: inode) else { continue }
            out.append(id)
        }
        return out
    }

    /// "ipc:[4026531839]" -> 4026531839
    public static func namespaceInode(_ link: String) -> UInt64? {
        guard let open = link.firstIndex(of: "["), let close = link.lastIndex(of: "]") else { return nil }
        return UInt64(link[link.index(after: open)..<close])
    }

    static func joinCmdline(_ bytes: [UInt8]) -> String {
        var b = bytes
        while b.last == 0 { b.removeLast() }
        return String(decoding: b.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

import Dispatch
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the process table in one pass over /proc.
///
/// Per process: /proc/PID/stat (ppid, state, comm, start ticks), status (uids), cgroup and ns/ipc, and,
/// when asked for (`details`), exe. Files are opened relative to a /proc/PID directory
/// descriptor and read into one reused buffer; the parsers work on bytes. /proc/PID/maps is read in a
/// second pass only for the processes the caller names (those that could map an attached segment).
public struct ProcessProbe: Sendable {
    /// Optional per-process fields, read only when something needs them.
    public struct Details: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// /proc/PID/exe (readlink): `--exe` scopes.
        public static let exe = Details(rawValue: 1)
        /// /proc/PID/ns/mnt (readlink): which mount namespace reaches which POSIX filesystem.
        public static let mountNamespace = Details(rawValue: 2)
        public static let all: Details = [.exe, .mountNamespace]
    }

    public var procRoot: String
    public var details: Details

    public init(procRoot: String = "/proc", details: Details = .all) {
        self.procRoot = procRoot
        self.details = details
    }

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
        if let text = try? FileIO.readText("\(procRoot)/stat", limit: FileIO.Limit.procfs),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
           let v = Double(line.dropFirst(6).trimmingCharacters(in: " ")) {
            return v
        }
        return 0
    }

    /// A reader for files under procRoot: a procfs copy must hold regular files.
    func newReader() -> ProcFileReader { ProcFileReader(requireRegular: procRoot != "/proc") }

    /// Every process under procRoot. Entries that vanish while being read are skipped.
    public func read() throws -> ProcessTable {
        var problem: String?
        let records = records(of: try FileIO.numericEntries(procRoot), problem: &problem)
        if let problem {
            throw ProbeError(description: "\(problem) under --proc \(procRoot): a procfs copy must hold regular files; copy it again (e.g. with cp -r of the files, not of FIFOs or devices)")
        }
        let live = procRoot == "/proc"
        let own = FileIO.readLink("\(procRoot)/self/ns/ipc").flatMap(Self.namespaceInode)
        return ProcessTable(processes: records, ownIPCNamespace: live ? own : nil,
                            ownPid: live ? FileIO.readLink("\(procRoot)/self").flatMap { Int32($0) } : nil)
    }

    /// Adds the processes that appeared in /proc since `table` was read (one more directory listing;
    /// only the new pids are read).
    public func addProcessesStarted(since table: inout ProcessTable) {
        guard let pids = try? FileIO.numericEntries(procRoot) else { return }
        var problem: String?
        let new = records(of: pids.filter { table.byPid[$0] == nil }, problem: &problem)
        guard !new.isEmpty else { return }
        table = table.replacingProcesses(Array(table.byPid.values) + new)
    }

    /// The records of these pids, with one boot instant and one reused read buffer; vanished ones are skipped.
    private func records(of pids: [Int32], problem: inout String?) -> [ProcessRecord] {
        guard !pids.isEmpty else { return [] }
        let boot = bootInstant()
        let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let ticks = clockTicks > 0 ? clockTicks : 100
        let reader = newReader()
        var out: [ProcessRecord] = []
        out.reserveCapacity(pids.count)
        for pid in pids {
            if let r = record(pid, boot: boot, ticksPerSecond: ticks, reader: reader) { out.append(r) }
        }
        problem = reader.problem
        return out
    }

    /// One process, or nil when its /proc entry vanished or is unreadable.
    public func record(_ pid: Int32, boot: Double, ticksPerSecond: Double) -> ProcessRecord? {
        record(pid, boot: boot, ticksPerSecond: ticksPerSecond, reader: newReader())
    }

    func record(_ pid: Int32, boot: Double, ticksPerSecond: Double, reader: ProcFileReader) -> ProcessRecord? {
        let dir = open("\(procRoot)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        // Gone (ENOENT, ESRCH) is no process; anything else (EACCES under hidepid=1) is a process we cannot read.
        guard dir >= 0 else { return Self.vanished(errno) ? nil : Self.unreadable(pid) }
        defer { close(dir) }
        let stat = reader.read(dir, "stat", { Self.parseStat($0) })
        if stat == nil, Self.vanished(errno) { return nil }
        let status = reader.read(dir, "status", { Self.parseStatus($0) }) ?? nil
        guard let parsed = stat ?? nil else {
            var r = Self.unreadable(pid)
            if let status { Self.apply(status, to: &r) }
            return r
        }
        let cgroup = reader.read(dir, "cgroup", { Self.parseCgroup($0) }) ?? nil
        let exe = details.contains(.exe) ? reader.readLink(dir, "exe", { String(decoding: $0, as: UTF8.self) }) : nil
        let ns = reader.readLink(dir, "ns/ipc", { Self.namespaceInode($0) }) ?? nil
        var r = ProcessRecord(
            pid: pid, ppid: parsed.ppid, state: parsed.state, uid: UInt32.max, euid: UInt32.max, credentialsKnown: false,
            comm: parsed.comm, exe: exe, startTime: boot + Double(parsed.startTicks) / ticksPerSecond,
            cgroup: cgroup, ipcNamespace: ns)
        if details.contains(.mountNamespace) {
            r.mountNamespace = reader.readLink(dir, "ns/mnt", { Self.namespaceInode($0) }) ?? nil
        }
        if let status { Self.apply(status, to: &r) }
        return r
    }

    static func vanished(_ e: Int32) -> Bool { e == ENOENT || e == ESRCH }

    /// A process whose /proc entry exists but cannot be read: it counts as able to reach every object, and as
    /// existing since boot (state and start unknown).
    static func unreadable(_ pid: Int32) -> ProcessRecord {
        ProcessRecord(pid: pid, ppid: 0, state: "?", uid: UInt32.max, euid: UInt32.max, credentialsKnown: false,
                      statKnown: false, comm: "?", startTime: 0)
    }

    static func apply(_ s: StatusFields, to r: inout ProcessRecord) {
        r.uid = s.uid
        r.euid = s.euid
        r.gid = s.gid
        r.egid = s.egid
        r.groups = s.groups
        r.capEff = s.capEff
        r.isNamespaceInit = s.isNamespaceInit
        r.credentialsKnown = true
    }

    /// Adds /proc/PID/maps SysV attachments for the given pids.
    public func addAttachments(to table: inout ProcessTable, for pids: [Int32]) {
        addHandles(to: &table, sysvPids: Set(pids), posix: [])
    }

    /// One pass over the processes for everything their descriptors and mappings tell: /proc/PID/maps is read
    /// once per process and yields both the SysV segments it maps (`/SYSV` lines, for `sysvPids`) and the POSIX
    /// objects (`posix`, matched by device major:minor and inode); /proc/PID/fd is read only when `posix` is not
    /// empty, each descriptor fstat'ed through its magic link (device and inode, never the link text).
    /// Every live process is read for POSIX objects, whatever its IPC namespace: a file's device and inode name
    /// it on the whole system. A process whose fd or maps cannot be read (permission) gets `handlesUnreadable`.
    public func addHandles(to table: inout ProcessTable, sysvPids: Set<Int32>, posix: Set<DeviceInode>) {
        guard !sysvPids.isEmpty || !posix.isEmpty else { return }
        let devices = Set(posix.map(\.device))
        let wanted = table.byPid.values.filter { sysvPids.contains($0.pid) || (!posix.isEmpty && !$0.isDeadOrZombie) }
        // The reads are system calls on independent /proc entries: chunks of processes on several threads.
        var read = [HandleRead?](repeating: nil, count: wanted.count)
        let chunk = 128
        let chunks = (wanted.count + chunk - 1) / chunk
        read.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendableBuffer(out)
            let work: @Sendable (Int) -> Void = { c in
                let reader = self.newReader()
                for i in (c * chunk)..<min(wanted.count, (c + 1) * chunk) {
                    let pid = wanted[i].pid
                    out.buffer[i] = self.handles(of: pid, reader: reader, sysv: sysvPids.contains(pid),
                                                 posix: posix.isEmpty ? nil : (posix, devices))
                }
            }
            if chunks > 1 { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) } else if chunks == 1 { work(0) }
        }
        var records = table.byPid
        for case let r? in read {
            guard var p = records[r.pid] else { continue }
            if let segments = r.segments { p.attachedSegments = segments }
            if r.posix {
                p.posixHandles = r.handles
                p.handlesUnreadable = r.problem
            }
            records[r.pid] = p
        }
        table = table.replacingProcesses(Array(records.values))
    }

    /// What one process's maps and fds say.
    struct HandleRead: Sendable {
        var pid: Int32
        /// SysV shmids it maps (nil when maps were not read for SysV or could not be read).
        var segments: [Int32]?
        /// Whether POSIX handles were looked for.
        var posix: Bool
        var handles: [PosixHandle]
        var problem: String?
    }

    /// /proc/PID/maps once (SysV `/SYSV` lines and POSIX device+inode matches), and /proc/PID/fd for POSIX.
    func handles(of pid: Int32, reader: ProcFileReader, sysv: Bool,
                 posix: (objects: Set<DeviceInode>, devices: Set<UInt64>)?) -> HandleRead? {
        let dir = open("\(procRoot)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { return nil }
        defer { close(dir) }
        var handles: [PosixHandle] = []
        let maps = reader.read(dir, "maps") { b -> [Int32] in
            if let posix { Self.parseMapsPosix(b, devices: posix.devices, objects: posix.objects, into: &handles) }
            return sysv ? Self.parseMapsSysV(b) : []
        }
        var problem: String?
        if maps == nil && errno != ENOENT && errno != ESRCH {
            problem = "/proc/\(pid)/maps: \(Errno(rawValue: errno))"
        }
        if let posix {
            switch Self.openDescriptors(dir: dir, matching: posix.objects, devices: posix.devices) {
            case .success(let fds): handles += fds
            case .failure(let e) where e == .noSuchFileOrDirectory || e == .noSuchProcess: break
            case .failure(let e): problem = (problem.map { $0 + "; " } ?? "") + "/proc/\(pid)/fd: \(e)"
            }
        }
        return HandleRead(pid: pid, segments: sysv ? maps : nil, posix: posix != nil, handles: handles, problem: problem)
    }

    /// fstatat(fd-dir, N, 0) for every entry of /proc/PID/fd: the descriptors that are one of `objects`.
    static func openDescriptors(dir: Int32, matching objects: Set<DeviceInode>, devices: Set<UInt64>)
        -> Result<[PosixHandle], Errno> {
        let fdDir = openat(dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fdDir >= 0 else { return .failure(Errno(rawValue: errno)) }
        guard let d = fdopendir(fdDir) else {
            let e = Errno(rawValue: errno)
            close(fdDir)
            return .failure(e)
        }
        defer { closedir(d) }
        var out: [PosixHandle] = []
        var st = stat()
        while let entry = readdir(d) {
            let n = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int32? in
                var v: Int32 = 0
                var any = false
                for c in raw {
                    if c == 0 { break }
                    guard c >= 48 && c <= 57 else { return nil }
                    v = v &* 10 &+ Int32(c - 48)
                    any = true
                }
                return any ? v : nil
            }
            guard let fd = n else { continue }
            // Follows the magic link to the open file itself (its device and inode), whatever its path reads.
            guard withUnsafeBytes(of: entry.pointee.d_name, { raw in
                fstatat(fdDir, raw.baseAddress!.assumingMemoryBound(to: CChar.self), &st, 0)
            }) == 0 else { continue }
            let dev = UInt64(st.st_dev)
            guard devices.contains(dev) else { continue }
            let id = DeviceInode(device: dev, inode: UInt64(st.st_ino))
            if objects.contains(id) { out.append(PosixHandle(object: id, fd: fd)) }
        }
        return .success(out)
    }

    /// /proc/PID/maps lines "start-end perms offset MAJ:MIN inode path" whose device and inode are one of `objects`.
    public static func parseMapsPosix(_ bytes: [UInt8], objects: Set<DeviceInode>) -> [PosixHandle] {
        var out: [PosixHandle] = []
        bytes.withUnsafeBufferPointer { parseMapsPosix($0, devices: Set(objects.map(\.device)), objects: objects, into: &out) }
        return out
    }

    static func parseMapsPosix(_ b: UnsafeBufferPointer<UInt8>, devices: Set<UInt64>, objects: Set<DeviceInode>,
                               into out: inout [PosixHandle]) {
        func hex(_ c: UInt8) -> UInt64? {
            switch c {
            case 48...57: return UInt64(c - 48)
            case 97...102: return UInt64(c - 87)
            case 65...70: return UInt64(c - 55)
            default: return nil
            }
        }
        var lineStart = 0
        while lineStart < b.count {
            var end = lineStart
            while end < b.count && b[end] != 10 { end += 1 }
            defer { lineStart = end + 1 }
            // Fields 0..4 separated by single spaces: range perms offset dev inode.
            var fieldStart = [Int](repeating: 0, count: 6)
            var field = 0
            var i = lineStart
            fieldStart[0] = i
            while i < end && field < 5 {
                if b[i] == 32 {
                    field += 1
                    while i + 1 < end && b[i + 1] == 32 { i += 1 }
                    fieldStart[field] = i + 1
                }
                i += 1
            }
            guard field == 5 else { continue }
            // dev "fd:01"
            var major: UInt64 = 0, minor: UInt64 = 0
            var j = fieldStart[3]
            var ok = true
            var sawColon = false
            while j < fieldStart[4] - 1 {
                let c = b[j]
                if c == UInt8(ascii: ":") { sawColon = true } else if let h = hex(c) {
                    if sawColon { minor = minor << 4 | h } else { major = major << 4 | h }
                } else { ok = false; break }
                j += 1
            }
            guard ok, sawColon else { continue }
            var inode: UInt64 = 0
            j = fieldStart[4]
            while j < end && b[j] >= 48 && b[j] <= 57 {
                inode = inode &* 10 &+ UInt64(b[j] - 48)
                j += 1
            }
            guard inode != 0 else { continue }
            let id = DeviceInode(major: major, minor: minor, inode: inode)
            guard devices.contains(id.device), objects.contains(id) else { continue }
            let range = String(decoding: UnsafeBufferPointer(rebasing: b[lineStart..<(fieldStart[1] - 1)]), as: UTF8.self)
            out.append(PosixHandle(object: id, mapping: range))
        }
    }

    /// Resolves pids that are not in the table but are threads (/proc/TID/status `Tgid:`) to their thread group.
    public func resolveThreads(in table: inout ProcessTable, pids: some Sequence<Int32>) {
        var tried: Set<Int32> = []
        let reader = newReader()
        for pid in pids where pid > 0 && table.byPid[pid] == nil && table.threadGroups[pid] == nil {
            guard tried.insert(pid).inserted else { continue }  // an exited pid is recorded by many objects
            let dir = open("\(procRoot)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { continue }
            defer { close(dir) }
            guard let ids = reader.read(dir, "status", { Self.parseStatus($0) }) ?? nil, ids.tgid != pid else { continue }
            table.threadGroups[pid] = ids.tgid
        }
    }

    // MARK: pure parsers

    /// /proc/PID/stat: comm is between the first '(' and the last ')'; fields after it are space separated.
    public static func parseStat(_ bytes: [UInt8]) -> (comm: String, state: Character, ppid: Int32, startTicks: UInt64)? {
        bytes.withUnsafeBufferPointer { parseStat($0) }
    }

    static func parseStat(_ b: UnsafeBufferPointer<UInt8>) -> (comm: String, state: Character, ppid: Int32, startTicks: UInt64)? {
        guard let open = b.firstIndex(of: UInt8(ascii: "(")),
              let close = b.lastIndex(of: UInt8(ascii: ")")), close > open else { return nil }
        let comm = String(decoding: UnsafeBufferPointer(rebasing: b[(open + 1)..<close]), as: UTF8.self)
        // Fields after ")" separated by runs of spaces: [0] state (field 3), [1] ppid, [19] starttime (field 22).
        var field = -1
        var i = close + 1
        var stateByte: UInt8 = 0
        var ppid: Int32?
        var start: UInt64?
        while i < b.count {
            while i < b.count && b[i] == 32 { i += 1 }
            guard i < b.count else { break }
            let s = i
            while i < b.count && b[i] != 32 { i += 1 }
            field += 1
            let text = UnsafeBufferPointer(rebasing: b[s..<i])
            switch field {
            case 0: stateByte = text[0]
            case 1: ppid = parseDecimal(text).flatMap { Int32(exactly: $0) }
            case 19:
                start = parseDecimal(text).flatMap { UInt64(exactly: $0) }
            default: break
            }
            if field >= 19 { break }
        }
        guard field >= 19, let ppid, let start, stateByte != 0 else { return nil }
        return (comm, Character(Unicode.Scalar(stateByte)), ppid, start)
    }

    /// A decimal integer with an optional sign, as Int32("...")/UInt64("...") accept; nil otherwise.
    static func parseDecimal(_ t: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        var negative = false
        if i < t.count, t[i] == UInt8(ascii: "-") || t[i] == UInt8(ascii: "+") {
            negative = t[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < t.count else { return nil }
        var v: Int64 = 0
        while i < t.count {
            let d = t[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return negative ? -v : v
    }

    /// What /proc/PID/status says about credentials and identity.
    public struct StatusFields: Sendable, Equatable {
        public var uid: UInt32
        public var euid: UInt32
        public var gid: UInt32
        public var egid: UInt32
        public var groups: [UInt32]
        public var capEff: UInt64
        public var tgid: Int32
        /// The last `NSpid:` value is 1: the init of its (possibly nested) pid namespace.
        public var isNamespaceInit: Bool
    }

    static let groupsPrefix = Array("Groups:".utf8)
    static let nspidPrefix = Array("NSpid:".utf8)
    static let capEffPrefix = Array("CapEff:".utf8)

    /// /proc/PID/status: real and effective uid, and the thread group id.
    public static func parseStatusIDs(_ bytes: [UInt8]) -> (uid: UInt32, euid: UInt32, tgid: Int32)? {
        parseStatus(bytes).map { ($0.uid, $0.euid, $0.tgid) }
    }

    /// /proc/PID/status: `Tgid:`, `Uid:`, `Gid:` (real, effective), `Groups:`, `NSpid:`, `CapEff:` (hex).
    public static func parseStatus(_ bytes: [UInt8]) -> StatusFields? {
        bytes.withUnsafeBufferPointer { parseStatus($0) }
    }

    static func parseStatus(_ b: UnsafeBufferPointer<UInt8>) -> StatusFields? {
        var uid: UInt32?
        var euid: UInt32?
        var gid: UInt32?
        var egid: UInt32?
        var groups: [UInt32] = []
        var capEff: UInt64?
        var tgid: Int32?
        var nsInit = false
        func isBlank(_ c: UInt8) -> Bool { c == 9 || c == 32 }
        /// The blank-separated fields of a line after its "Name:" prefix.
        func fields(_ line: UnsafeBufferPointer<UInt8>, from start: Int, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) {
            var i = start
            while i < line.count {
                while i < line.count && isBlank(line[i]) { i += 1 }
                guard i < line.count else { break }
                let s = i
                while i < line.count && !isBlank(line[i]) { i += 1 }
                if !body(UnsafeBufferPointer(rebasing: line[s..<i])) { break }
            }
        }
        func pair(_ line: UnsafeBufferPointer<UInt8>, _ prefix: Int) -> (UInt32?, UInt32?) {
            var first: UInt32??
            var second: UInt32??
            fields(line, from: prefix) { f in
                let v = parseDecimal(f).flatMap { UInt32(exactly: $0) }
                if first == nil { first = .some(v); return true }
                second = .some(v)
                return false
            }
            guard let a = first, let b = second else { return (nil, nil) }
            return (a, b)
        }
        var lineStart = 0
        while lineStart < b.count {
            var end = lineStart
            while end < b.count && b[end] != 10 { end += 1 }
            let line = UnsafeBufferPointer(rebasing: b[lineStart..<end])
            if line.starts(with: [85, 105, 100, 58]) {  // "Uid:": real, effective, saved, fs
                (uid, euid) = pair(line, 4)
            } else if line.starts(with: [71, 105, 100, 58]) {  // "Gid:"
                (gid, egid) = pair(line, 4)
            } else if line.starts(with: Self.groupsPrefix) {
                fields(line, from: 7) { f in
                    if let g = parseDecimal(f).flatMap({ UInt32(exactly: $0) }) { groups.append(g) }
                    return true
                }
            } else if line.starts(with: Self.nspidPrefix) {
                var last: Int64?
                fields(line, from: 6) { f in
                    last = parseDecimal(f)
                    return true
                }
                nsInit = last == 1
            } else if line.starts(with: Self.capEffPrefix) {
                fields(line, from: 7) { f in
                    var v: UInt64 = 0
                    var ok = !f.isEmpty && f.count <= 16
                    for c in f where ok {
                        switch c {
                        case 48...57: v = v << 4 | UInt64(c - 48)
                        case 97...102: v = v << 4 | UInt64(c - 87)
                        case 65...70: v = v << 4 | UInt64(c - 55)
                        default: ok = false
                        }
                    }
                    if ok { capEff = v }
                    return false
                }
            } else if line.starts(with: [84, 103, 105, 100, 58]) {  // "Tgid:"
                var s = 5
                var e = line.count
                while s < e && isBlank(line[s]) { s += 1 }
                while e > s && isBlank(line[e - 1]) { e -= 1 }
                tgid = parseDecimal(UnsafeBufferPointer(rebasing: line[s..<e])).flatMap { Int32(exactly: $0) }
            }
            if capEff != nil { break }  // the last line we need
            lineStart = end + 1
        }
        guard let u = uid, let e = euid, let t = tgid else { return nil }
        return StatusFields(uid: u, euid: e, gid: gid ?? u, egid: egid ?? gid ?? u, groups: groups,
                            capEff: capEff ?? 0, tgid: t, isNamespaceInit: nsInit)
    }

    /// /proc/PID/cgroup: the `name=systemd` (cgroup v1) path when present and not the root, else the v2 `0::` path.
    public static func parseCgroup(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { parseCgroup($0) }
    }

    static func parseCgroup(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        var v1: Range<Int>?
        var v2: Range<Int>?
        let nameSystemd = Array("name=systemd".utf8)
        var lineStart = 0
        while lineStart < b.count {
            var end = lineStart
            while end < b.count && b[end] != 10 { end += 1 }
            // hierarchy-ID:controllers:path (the path may itself contain ':')
            var c1 = lineStart
            while c1 < end && b[c1] != UInt8(ascii: ":") { c1 += 1 }
            var c2 = c1 + 1
            while c2 < end && b[c2] != UInt8(ascii: ":") { c2 += 1 }
            if c1 < end && c2 < end {
                let controllers = UnsafeBufferPointer(rebasing: b[(c1 + 1)..<c2])
                if controllers.elementsEqual(nameSystemd) {
                    v1 = (c2 + 1)..<end
                } else if controllers.isEmpty && c1 == lineStart + 1 && b[lineStart] == UInt8(ascii: "0") {
                    v2 = (c2 + 1)..<end
                }
            }
            lineStart = end + 1
        }
        func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
        if let v1, !(v1.count == 1 && b[v1.lowerBound] == UInt8(ascii: "/")) { return text(v1) }
        return v2.map(text) ?? v1.map(text)
    }

    /// /proc/PID/maps: the inode (= shmid) of every `/SYSV%08x` mapping.
    public static func parseMapsSysV(_ bytes: [UInt8]) -> [Int32] {
        bytes.withUnsafeBufferPointer { parseMapsSysV($0) }
    }

    static func parseMapsSysV(_ b: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var out: [Int32] = []
        guard b.count > 5 else { return out }
        // Find each "/SYSV", then parse its line: address perms offset dev inode path.
        func find(from: Int) -> Int? {
            var i = from
            while i + 5 <= b.count {
                if b[i] == UInt8(ascii: "/") && b[i + 1] == UInt8(ascii: "S") && b[i + 2] == UInt8(ascii: "Y")
                    && b[i + 3] == UInt8(ascii: "S") && b[i + 4] == UInt8(ascii: "V") { return i }
                i += 1
            }
            return nil
        }
        var from = 0
        while from < b.count, let at = find(from: from) {
            var lineStart = at
            while lineStart > 0 && b[lineStart - 1] != 10 { lineStart -= 1 }
            var lineEnd = at
            while lineEnd < b.count && b[lineEnd] != 10 { lineEnd += 1 }
            from = lineEnd + 1
            var field = 0
            var i = lineStart
            var inode: Int64?
            while i < lineEnd && field <= 4 {
                while i < lineEnd && b[i] == 32 { i += 1 }
                let s = i
                while i < lineEnd && b[i] != 32 { i += 1 }
                if field == 4 { inode = parseDecimal(UnsafeBufferPointer(rebasing: b[s..<i])) }
                field += 1
            }
            // The path (field 6) must follow; the original parser required six fields.
            while i < lineEnd && b[i] == 32 { i += 1 }
            guard field == 5, i < lineEnd, let inode, let id = Int32(exactly: inode) else { continue }
            out.append(id)
        }
        return out
    }

    /// "ipc:[4026531839]" -> 4026531839
    public static func namespaceInode(_ link: String) -> UInt64? {
        guard let open = link.firstIndex(of: "["), let close = link.lastIndex(of: "]") else { return nil }
        return UInt64(link[link.index(after: open)..<close])
    }

    static func namespaceInode(_ b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard let open = b.firstIndex(of: UInt8(ascii: "[")), let close = b.lastIndex(of: UInt8(ascii: "]")),
              close > open + 1 else { return nil }
        var v: UInt64 = 0
        for c in b[(open + 1)..<close] {
            let d = c &- 48
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = a
        }
        return v
    }
}

/// Reads small /proc files relative to a directory descriptor into one reused buffer, through
/// `FileIO.openForReading`/`FileIO.readAll` (non-blocking open, bounded read). Under a procfs copy (`--proc DIR`)
/// every file must be a regular file; the first one that is not (or that is too large) is kept in `problem`.
final class ProcFileReader {
    private let buffer: ReadBuffer
    /// Check with fstat that each file is a regular file (a procfs copy); live procfs files need no check.
    let requireRegular: Bool
    /// The first file that was of the wrong type or too large, as a one-line message.
    private(set) var problem: String?

    init(capacity: Int = 16384, requireRegular: Bool = false) {
        buffer = ReadBuffer(capacity: capacity)
        self.requireRegular = requireRegular
    }

    private var base: UnsafeMutableRawPointer { buffer.base }

    /// openat + bounded read until EOF + close, then `parse` on the bytes; nil when the file cannot be read.
    func read<T>(_ dir: Int32, _ name: String, _ parse: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        do throws(FileError) {
            let fd = try FileIO.openForReading(name, relativeTo: dir, requireRegular: requireRegular)
            defer { close(fd) }
            let used = try FileIO.readAll(fd, into: buffer, limit: FileIO.Limit.procfs, path: name)
            return parse(buffer.bytes(used))
        } catch {
            if problem == nil && (error.isWrongType || error.errno == .fileTooLarge || error.errno == .wouldBlock) {
                problem = error.description
            }
            return nil
        }
    }

    /// readlinkat, then `parse` on the target's bytes; nil when it cannot be read.
    func readLink<T>(_ dir: Int32, _ name: String, _ parse: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        let n = readlinkat(dir, name, base.assumingMemoryBound(to: CChar.self), buffer.capacity)
        guard n >= 0 else { return nil }
        return parse(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: n))
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

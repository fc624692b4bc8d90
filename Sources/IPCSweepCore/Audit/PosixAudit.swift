/// Orphaned POSIX objects that share a name prefix ("torch_*"): how many, and how much memory they hold.
public struct PosixOrphanGroup: Sendable, Equatable {
    /// The glob that names the group: the name up to its first `_`, `.` or `-`, then `*`; a name without one stands alone.
    public var pattern: String
    public var kind: IPCKind
    public var count: Int
    /// Memory really used (st_blocks × 512).
    public var usedBytes: Int64
    /// Sum of st_size.
    public var sizeBytes: Int64

    public init(pattern: String, kind: IPCKind, count: Int, usedBytes: Int64, sizeBytes: Int64) {
        self.pattern = pattern
        self.kind = kind
        self.count = count
        self.usedBytes = usedBytes
        self.sizeBytes = sizeBytes
    }
}

/// One POSIX object named in the audit (orphans, suspects).
public struct PosixAuditObject: Sendable, Equatable {
    public var kind: IPCKind
    public var name: String
    public var path: String
    public var uid: UInt32
    public var usedBytes: Int64
    public var reason: String
}

/// The POSIX part of the audit: the /dev/shm filesystem's size and use, counts, orphans by name prefix.
public struct PosixAuditSection: Sendable, Equatable {
    /// The shm mount point, its size and use (statvfs); nil when it was not read.
    public var shmRoot: String?
    public var shmSizeBytes: UInt64?
    public var shmUsedBytes: UInt64?
    /// Objects per kind and verdict.
    public var counts: [IPCKind: [Verdict: Int]] = [:]
    public var orphans: [PosixAuditObject] = []
    public var suspects: [PosixAuditObject] = []
    /// Orphans grouped by name prefix, most memory first.
    public var orphanGroups: [PosixOrphanGroup] = []

    public init() {}

    /// Built from the classified objects and the shm scan. Pure.
    public init(_ items: [Classification], shm: PosixScanResult?) {
        shmRoot = shm?.scanned == true ? shm?.root : nil
        shmSizeBytes = shm?.mount?.sizeBytes
        shmUsedBytes = shm?.mount?.usedBytes
        var groups: [String: PosixOrphanGroup] = [:]
        for c in items {
            guard let o = c.object.posix else { continue }
            counts[o.kind, default: [:]][c.verdict, default: 0] += 1
            let entry = PosixAuditObject(kind: o.kind, name: o.name, path: o.path, uid: o.uid,
                                         usedBytes: o.usedBytes, reason: c.reasons.first ?? "")
            switch c.verdict {
            case .orphaned:
                orphans.append(entry)
                let p = Self.pattern(o.name)
                let key = o.kind.rawValue + ":" + p
                var g = groups[key] ?? PosixOrphanGroup(pattern: p, kind: o.kind, count: 0, usedBytes: 0, sizeBytes: 0)
                g.count += 1
                g.usedBytes += o.usedBytes
                g.sizeBytes += o.kind == .posixMq ? 0 : o.size
                groups[key] = g
            case .suspect: suspects.append(entry)
            default: break
            }
        }
        orphanGroups = groups.values.sorted {
            $0.usedBytes != $1.usedBytes ? $0.usedBytes > $1.usedBytes : ($0.count != $1.count ? $0.count > $1.count : $0.pattern < $1.pattern)
        }
    }

    /// "torch_1234_5" -> "torch_*", "PostgreSQL.1804289383" -> "PostgreSQL.*", "single" -> "single".
    public static func pattern(_ name: String) -> String {
        guard let i = name.firstIndex(where: { $0 == "_" || $0 == "." || $0 == "-" }), i != name.startIndex else { return name }
        return String(name[...i]) + "*"
    }

    /// Memory the orphans hold.
    public var orphanedBytes: Int64 { orphans.reduce(0) { $0 + $1.usedBytes } }

    /// "3.1 GiB", "512 KiB", "12 B".
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(max(0, bytes))
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        if u == 0 { return "\(bytes) B" }
        let tenths = Int((v * 10).rounded())
        return tenths % 10 == 0 || v >= 100 ? "\(Int(v.rounded())) \(units[u])" : "\(tenths / 10).\(tenths % 10) \(units[u])"
    }

    /// "/dev/shm 91 % full (22.1 GiB of 24.3 GiB); 3.1 GiB of it in 812 orphaned torch_* files"; nil without a mount.
    public var usageLine: String? {
        guard let root = shmRoot, let size = shmSizeBytes, let used = shmUsedBytes, size > 0 else { return nil }
        let percent = Int((Double(used) / Double(size) * 100).rounded())
        var s = "\(root) \(percent) % full (\(Self.size(Int64(used))) of \(Self.size(Int64(size))))"
        let shmGroups = orphanGroups.filter { $0.kind != .posixMq }
        if let top = shmGroups.first {
            let total = shmGroups.reduce(0) { $0 + $1.usedBytes }
            s += "; \(Self.size(total)) of it in \(shmGroups.reduce(0) { $0 + $1.count }) orphaned file\(shmGroups.count == 1 && top.count == 1 ? "" : "s")"
            if shmGroups.count == 1 { s += " (\(top.pattern))" }
        }
        return s
    }

    /// "812 orphaned torch_* files, 3.1 GiB"
    public static func groupLine(_ g: PosixOrphanGroup) -> String {
        let what = g.kind == .posixMq ? "queue" : g.kind == .posixSem ? "semaphore" : "file"
        return "\(g.count) orphaned \(g.pattern) \(what)\(g.count == 1 ? "" : "s"), \(size(g.usedBytes))"
    }
}

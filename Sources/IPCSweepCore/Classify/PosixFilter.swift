#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The filters of list, orphans, clean and audit as they apply to POSIX objects: `--type`, `--name GLOB`,
/// `--user` (the file's owner), `--verdict`, `--idle-for` (since the last change). AND across kinds, OR within one.
public struct PosixFilter: Sendable, Equatable {
    public var kinds: Set<PosixIPCKind>
    /// fnmatch(3) patterns matched against the name (`PostgreSQL.*`, `torch_*`) or the directory entry (`sem.x`).
    public var names: [String]
    public var uids: Set<UInt32>
    public var verdicts: Set<Verdict>
    public var idleFor: Double?

    public init(kinds: Set<PosixIPCKind> = Set(PosixIPCKind.allCases), names: [String] = [], uids: Set<UInt32> = [],
                verdicts: Set<Verdict> = [], idleFor: Double? = nil) {
        self.kinds = kinds
        self.names = names
        self.uids = uids
        self.verdicts = verdicts
        self.idleFor = idleFor
    }

    /// Whether a name matches one glob (fnmatch without flags: `*` also matches dots).
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    /// Whether an object passes every given filter (before classification).
    public func matches(_ o: PosixIPCObject, now: Double) -> Bool {
        if !kinds.contains(o.kind) { return false }
        if !names.isEmpty && !names.contains(where: { Self.glob($0, matches: o.name) || Self.glob($0, matches: o.entry) }) {
            return false
        }
        if !uids.isEmpty && !uids.contains(o.uid) { return false }
        if let idle = idleFor, now - o.lastChange.value < idle { return false }
        return true
    }

    /// Whether an entry under /dev/shm that is not a POSIX object (listed for RemoveIPC= only) passes: it counts as
    /// POSIX shared memory of its owner, has no verdict and no name programs use, so `--verdict`, `--name` and
    /// `--idle-for` leave it out.
    public func matches(_ e: ShmTreeEntry) -> Bool {
        kinds.contains(.shm) && names.isEmpty && verdicts.isEmpty && idleFor == nil && (uids.isEmpty || uids.contains(e.uid))
    }

    /// Whether a classified object passes every filter.
    public func matches(_ c: PosixClassification, now: Double) -> Bool {
        matches(c.object, now: now) && (verdicts.isEmpty || verdicts.contains(c.verdict))
    }
}

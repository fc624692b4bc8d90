#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one filter of list, orphans, clean and audit: `--type --user --key --id --name --verdict --idle-for`, AND
/// across options, OR within one. Each means the same for every kind that has the field: `--user` is the owner
/// or creator (a POSIX file's owner), `--idle-for` counts from the last activity (a POSIX file's last change);
/// `--key` and `--id` select only System V objects (POSIX objects have neither), `--name` only POSIX objects
/// (System V objects have no name).
public struct ObjectFilter: Sendable, Equatable {
    /// The kinds to keep; empty: every kind.
    public var kinds: Set<IPCKind> = []
    /// Owner or creator uid.
    public var uids: Set<UInt32> = []
    /// Keys as the kernel stores them (signed 32-bit).
    public var keys: Set<Int32> = []
    public var ids: Set<Int32> = []
    /// fnmatch(3) patterns matched against a POSIX object's name (`PostgreSQL.*`, `torch_*`) or its directory
    /// entry (`sem.x`).
    public var names: [String] = []
    public var verdicts: Set<Verdict> = []
    /// Seconds without activity, at least.
    public var idleFor: Double?

    public init(kinds: Set<IPCKind> = [], uids: Set<UInt32> = [], keys: Set<Int32> = [], ids: Set<Int32> = [],
                names: [String] = [], verdicts: Set<Verdict> = [], idleFor: Double? = nil) {
        self.kinds = kinds
        self.uids = uids
        self.keys = keys
        self.ids = ids
        self.names = names
        self.verdicts = verdicts
        self.idleFor = idleFor
    }

    /// The kinds the filter can select at all: `--type` (or all six), less the family that a field filter
    /// rules out (`--key`/`--id`: no POSIX object; `--name`: no System V object).
    public var selectableKinds: Set<IPCKind> {
        var k = kinds.isEmpty ? Set(IPCKind.allCases) : kinds
        if !keys.isEmpty || !ids.isEmpty { k.subtract(IPCKind.posix) }
        if !names.isEmpty { k.subtract(IPCKind.sysv) }
        return k
    }

    /// Whether a name matches one glob (fnmatch without flags: `*` also matches dots).
    public static func glob(_ pattern: String, matches name: String) -> Bool {
        fnmatch(pattern, name, 0) == 0
    }

    /// Whether an object passes every given filter (before classification).
    public func matches(_ o: IPCObject, now: Double) -> Bool {
        if !kinds.isEmpty && !kinds.contains(o.kind) { return false }
        let p = o.perm
        if !uids.isEmpty && !uids.contains(p.uid) && !uids.contains(p.cuid) { return false }
        if let posix = o.posix {
            if !keys.isEmpty || !ids.isEmpty { return false }
            if !names.isEmpty && !names.contains(where: { Self.glob($0, matches: posix.name) || Self.glob($0, matches: posix.entry) }) {
                return false
            }
        } else {
            if !names.isEmpty { return false }
            if !keys.isEmpty && !keys.contains(p.key) { return false }
            if !ids.isEmpty && !ids.contains(o.id) { return false }
        }
        if let idle = idleFor, now - o.lastActivityInstant < idle { return false }
        return true
    }

    /// Whether an entry under /dev/shm that is not a POSIX object (listed for RemoveIPC= only) passes: it counts as
    /// POSIX shared memory of its owner, has no verdict and no name programs use, so `--verdict`, `--name` and
    /// `--idle-for` leave it out.
    public func matches(_ e: ShmTreeEntry) -> Bool {
        selectableKinds.contains(.posixShm) && names.isEmpty && verdicts.isEmpty && idleFor == nil
            && (uids.isEmpty || uids.contains(e.uid))
    }

    /// Whether a classified object passes every filter.
    public func matches(_ c: Classification, now: Double) -> Bool {
        matches(c.object, now: now) && (verdicts.isEmpty || verdicts.contains(c.verdict))
    }

    /// Parses a key: hex `0x...` or decimal (negative decimals as /proc prints them are accepted).
    public static func parseKey(_ text: String) -> Int32? {
        let t = text.lowercased()
        if t.hasPrefix("0x"), let v = UInt32(t.dropFirst(2), radix: 16) { return Int32(bitPattern: v) }
        if let v = UInt32(t) { return Int32(bitPattern: v) }
        if let v = Int32(t) { return v }
        return nil
    }
}

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
        guard matchesWhatItIs(o) else { return false }
        if let idle = idleFor, now - o.lastActivityInstant < idle { return false }
        return true
    }

    /// Whether an object passes every filter but `--idle-for` and `--verdict`: what the object is (kind, owner,
    /// key, id, name), not when it was last used.
    public func matchesWhatItIs(_ o: IPCObject) -> Bool {
        if let posix = o.posix {
            return admits(owner: o.perm) && admits(posixEntry: posix.entry, kind: posix.kind, name: posix.name)
        }
        if !kinds.isEmpty && !kinds.contains(o.kind) { return false }
        if !names.isEmpty { return false }
        return admits(sysV: o.perm, id: o.id)
    }

    /// Whether a System V object passes the filters its listing decides (owner or creator, key, id): the probe
    /// reads nothing more of one that does not (`IPCSnapshot.keep`). Its kind is read or not as a whole.
    public func admits(sysV p: IPCPermissions, id: Int32) -> Bool {
        if !admits(owner: p) { return false }
        if !keys.isEmpty && !keys.contains(p.key) { return false }
        if !ids.isEmpty && !ids.contains(id) { return false }
        return true
    }

    /// Whether `--user` keeps an object of this owner and creator.
    public func admits(owner p: IPCPermissions) -> Bool {
        uids.isEmpty || uids.contains(p.uid) || uids.contains(p.cuid)
    }

    /// Whether the System V listing can leave objects out (`--user`, `--key`, `--id`).
    public var narrowsSysV: Bool { !uids.isEmpty || !keys.isEmpty || !ids.isEmpty }

    /// Whether an entry of a POSIX root (`rootKind`: posixShm for the shm mount, posixMq for the mqueue mount) can
    /// pass, judged by its name alone: the scanner reads no other entry (no stat, ACL or lease), so that
    /// `--name 'PostgreSQL.*'` costs the files it names, not the whole of /dev/shm.
    public func admits(posixEntry entry: String, rootKind: IPCKind) -> Bool {
        let kind = PosixIPCObject.kind(ofEntry: entry, rootKind: rootKind)
        return admits(posixEntry: entry, kind: kind, name: PosixIPCObject.name(ofEntry: entry, kind: kind))
    }

    /// The filters a POSIX object's kind and names decide.
    private func admits(posixEntry entry: String, kind: IPCKind, name: String) -> Bool {
        if !kinds.isEmpty && !kinds.contains(kind) { return false }
        if !keys.isEmpty || !ids.isEmpty { return false }
        return names.isEmpty || names.contains { Self.glob($0, matches: name) || Self.glob($0, matches: entry) }
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

/// The `--type --user --key --id --verdict --idle-for` filters: AND across kinds, OR within one kind.
public struct ObjectFilter: Sendable, Equatable {
    public var kinds: Set<IPCKind> = []
    /// Owner or creator uid.
    public var uids: Set<UInt32> = []
    /// Keys as the kernel stores them (signed 32-bit).
    public var keys: Set<Int32> = []
    public var ids: Set<Int32> = []
    public var verdicts: Set<Verdict> = []
    /// Seconds without activity, at least.
    public var idleFor: Double?

    public init(kinds: Set<IPCKind> = [], uids: Set<UInt32> = [], keys: Set<Int32> = [], ids: Set<Int32> = [],
                verdicts: Set<Verdict> = [], idleFor: Double? = nil) {
        self.kinds = kinds
        self.uids = uids
        self.keys = keys
        self.ids = ids
        self.verdicts = verdicts
        self.idleFor = idleFor
    }

    /// Whether an object passes every given filter (before classification).
    public func matches(_ o: IPCObject, now: Double) -> Bool {
        if !kinds.isEmpty && !kinds.contains(o.kind) { return false }
        if !uids.isEmpty && !uids.contains(o.perm.uid) && !uids.contains(o.perm.cuid) { return false }
        if !keys.isEmpty && !keys.contains(o.perm.key) { return false }
        if !ids.isEmpty && !ids.contains(o.id) { return false }
        if let idle = idleFor, now - Double(o.lastActivity) < idle { return false }
        return true
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

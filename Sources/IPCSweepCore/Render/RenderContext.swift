/// What the field tables read while rendering: names, "now", the text style, and caches of what repeats.
///
/// Objects of one owner, and objects made or used in the same second, share their texts: each user name,
/// ISO-8601 time and relative time is worked out once per run (a lookup or `localtime_r` per object was a
/// tenth of the run time with 40,000 objects).
public final class RenderContext {
    /// How cells are written.
    public enum Style: Sendable, Equatable {
        /// A table for people: relative times, with the absolute time when `absoluteTimes`.
        case table(absoluteTimes: Bool)
        /// CSV: epoch seconds for times, nothing abbreviated.
        case csv
    }

    public let users: UserDirectory
    public let now: Double
    public var style: Style
    /// The processes, for `show`'s words about a recorded pid (its command, unit, whether it is a zombie).
    public var processes: ProcessTable?
    @exclusivity(unchecked) private var userNames = DirectMappedCache<UInt32>(slots: 1024)
    @exclusivity(unchecked) private var groupNames = DirectMappedCache<UInt32>(slots: 1024)
    @exclusivity(unchecked) private var isoTimes = DirectMappedCache<Int64>(slots: 4096)
    @exclusivity(unchecked) private var whenTexts: [Int64: String] = [:]
    @exclusivity(unchecked) private var ownerTexts: [UInt64: String] = [:]
    @exclusivity(unchecked) private var compactOwners = DirectMappedCache<UInt32>(slots: 1024)
    @exclusivity(unchecked) private var compactGroups = DirectMappedCache<UInt32>(slots: 1024)

    public init(users: UserDirectory, now: Double, style: Style = .table(absoluteTimes: true), processes: ProcessTable? = nil) {
        self.users = users
        self.now = now
        self.style = style
        self.processes = processes
    }

    /// A context with the same names, time and style and caches of its own, for another thread's cells.
    func sibling() -> RenderContext { RenderContext(users: users, now: now, style: style, processes: processes) }

    /// The user name as a JSON value (quoted, or null when the uid has no passwd entry).
    func userJSON(_ uid: UInt32) -> [UInt8] {
        userNames.value(for: uid) { users.userName($0).map(JSONStreamWriter.quoted) ?? Array("null".utf8) }
    }

    /// The group name as a JSON value.
    func groupJSON(_ gid: UInt32) -> [UInt8] {
        groupNames.value(for: gid) { users.groupName($0).map(JSONStreamWriter.quoted) ?? Array("null".utf8) }
    }

    /// "www-data", or "www-data (by root)" when the creator differs: the OWNER cell.
    func ownerText(uid: UInt32, cuid: UInt32) -> String {
        let key = UInt64(uid) << 32 | UInt64(cuid)
        if let t = ownerTexts[key] { return t }
        let t = uid == cuid ? users.displayUser(uid) : "\(users.displayUser(uid)) (by \(users.displayUser(cuid)))"
        ownerTexts[key] = t
        return t
    }

    /// `{"uid":N,"user":NAME}` (or gid/group) as compact JSON bytes.
    func compactWho(_ id: UInt32, group: Bool) -> [UInt8] {
        if group {
            return compactGroups.value(for: id) { Array("{\"gid\":\($0),\"group\":".utf8) + groupJSON($0) + [UInt8(ascii: "}")] }
        }
        return compactOwners.value(for: id) { Array("{\"uid\":\($0),\"user\":".utf8) + userJSON($0) + [UInt8(ascii: "}")] }
    }

    /// The ISO-8601 time as a JSON value (null for 0, "never").
    func isoJSON(_ t: Int64) -> [UInt8] {
        isoTimes.value(for: t) { TimeFormat.iso8601($0).map(JSONStreamWriter.quoted) ?? Array("null".utf8) }
    }

    /// A time as a cell: epoch seconds in CSV; "5 min ago (2026-11-21 01:02:03)" in a table.
    func when(_ t: Int64) -> String {
        switch style {
        case .csv: return String(t)
        case .table(let absolute):
            if let cached = whenTexts[t] { return cached }
            let text = absolute && t != 0 ? "\(TimeFormat.relative(t, now: now)) (\(TimeFormat.local(t)))"
                : TimeFormat.relative(t, now: now)
            whenTexts[t] = text
            return text
        }
    }

    /// Forgets the time texts (after switching between absolute and relative times).
    public func resetTimes() { whenTexts.removeAll(keepingCapacity: true) }
}

/// A fixed-size cache indexed by the key's low bits (no hashing): a collision just recomputes.
struct DirectMappedCache<Key: FixedWidthInteger> {
    private var keys: [Key]
    private var values: [[UInt8]?]
    private let mask: Int

    /// `slots` must be a power of two.
    init(slots: Int) {
        keys = Array(repeating: 0, count: slots)
        values = Array(repeating: nil, count: slots)
        mask = slots - 1
    }

    mutating func value(for key: Key, _ make: (Key) -> [UInt8]) -> [UInt8] {
        let slot = Int(truncatingIfNeeded: key) & mask
        if keys[slot] == key, let v = values[slot] { return v }
        let v = make(key)
        keys[slot] = key
        values[slot] = v
        return v
    }
}

extension JSONStreamWriter {
    /// `{"uid": N, "user": NAME}` (or gid/group), the name taken from the context's cache.
    mutating func who(_ id: UInt32, group: Bool, _ ctx: RenderContext) {
        if !pretty {
            raw(ctx.compactWho(id, group: group))
            first = false
            return
        }
        beginObject()
        if group {
            key("gid")
            int(id)
            key("group")
            raw(ctx.groupJSON(id))
        } else {
            key("uid")
            int(id)
            key("user")
            raw(ctx.userJSON(id))
        }
        endObject()
    }

    /// An array of strings.
    mutating func strings(_ list: [String]) {
        beginArray()
        for s in list {
            element()
            string(s)
        }
        endArray()
    }
}

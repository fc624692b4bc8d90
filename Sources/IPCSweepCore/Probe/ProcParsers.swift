/// The pure parsers of /proc files (bytes in, values out): stat, status, cgroup, maps, namespace links.
extension ProcessProbe {
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
        var fieldStart = [Int](repeating: 0, count: 6)  // one array for every line
        var lineStart = 0
        while lineStart < b.count {
            let end = b.lineEnd(from: lineStart)
            defer { lineStart = end + 1 }
            // Fields 0..4 separated by single spaces: range perms offset dev inode.
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
        guard let p = t.baseAddress, t.count > 0 else { return nil }
        let negative = p[0] == UInt8(ascii: "-")
        let signed = negative || p[0] == UInt8(ascii: "+")
        guard let magnitude = (signed ? UnsafeBufferPointer(start: p + 1, count: t.count - 1) : t).decimalValue else {
            return nil
        }
        if negative { return magnitude <= Int64.min.magnitude ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return Int64(exactly: magnitude)
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
        /// `State:` (its letter; "?" when absent), `PPid:` (0 when absent) and `Name:` (as status escapes it).
        public var state: Character = "?"
        public var ppid: Int32 = 0
        public var name = ""
    }

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
        var state: Character = "?"
        var ppid: Int32 = 0
        var name = ""
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
        /// The line after its prefix, without the blanks around it.
        func value(_ line: UnsafeBufferPointer<UInt8>, _ prefix: Int) -> UnsafeBufferPointer<UInt8> {
            var s = prefix
            var e = line.count
            while s < e && isBlank(line[s]) { s += 1 }
            while e > s && isBlank(line[e - 1]) { e -= 1 }
            return UnsafeBufferPointer(rebasing: line[s..<e])
        }
        /// Whether the line starts with the prefix.
        func has(_ line: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
            prefix.withUTF8Buffer { p in
                guard line.count >= p.count else { return false }
                for i in 0..<p.count where line[i] != p[i] { return false }
                return true
            }
        }
        var lineStart = 0
        while lineStart < b.count {
            let end = b.lineEnd(from: lineStart)
            let line = UnsafeBufferPointer(rebasing: b[lineStart..<end])
            // One look at the first byte, then the prefix compared in place (no array per comparison: this runs
            // for every line of every process's status).
            switch line.first {
            case UInt8(ascii: "U") where has(line, "Uid:"):  // real, effective, saved, fs
                (uid, euid) = pair(line, 4)
            case UInt8(ascii: "G") where has(line, "Gid:"):
                (gid, egid) = pair(line, 4)
            case UInt8(ascii: "G") where has(line, "Groups:"):
                fields(line, from: 7) { f in
                    if let g = parseDecimal(f).flatMap({ UInt32(exactly: $0) }) { groups.append(g) }
                    return true
                }
            case UInt8(ascii: "N") where has(line, "NSpid:"):
                var last: Int64?
                fields(line, from: 6) { f in
                    last = parseDecimal(f)
                    return true
                }
                nsInit = last == 1
            case UInt8(ascii: "N") where has(line, "Name:"):
                name = String(decoding: value(line, 5), as: UTF8.self)
            case UInt8(ascii: "C") where has(line, "CapEff:"):
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
            case UInt8(ascii: "T") where has(line, "Tgid:"):
                tgid = parseDecimal(value(line, 5)).flatMap { Int32(exactly: $0) }
            case UInt8(ascii: "P") where has(line, "PPid:"):
                ppid = parseDecimal(value(line, 5)).flatMap { Int32(exactly: $0) } ?? 0
            case UInt8(ascii: "S") where has(line, "State:"):
                if let c = value(line, 6).first { state = Character(Unicode.Scalar(c)) }
            default:
                break
            }
            if capEff != nil { break }  // the last line we need
            lineStart = end + 1
        }
        guard let u = uid, let e = euid, let t = tgid else { return nil }
        return StatusFields(uid: u, euid: e, gid: gid ?? u, egid: egid ?? gid ?? u, groups: groups,
                            capEff: capEff ?? 0, tgid: t, isNamespaceInit: nsInit, state: state, ppid: ppid, name: name)
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
            let end = b.lineEnd(from: lineStart)
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
            let lineEnd = b.lineEnd(from: at)
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
              close > open else { return nil }
        return UnsafeBufferPointer(rebasing: b[(open + 1)..<close]).decimalValue
    }
}

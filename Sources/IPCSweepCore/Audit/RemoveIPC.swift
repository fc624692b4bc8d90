#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// systemd-logind's `RemoveIPC=` as this host has it configured, and the system uid range it spares.
///
/// With RemoveIPC=yes (systemd's and Debian's default) logind destroys every System V and POSIX IPC object
/// owned or created by a non-system user when that user's last session ends, whether a process still uses it
/// or not (systemd#2039, #4532: PostgreSQL and DB2 lost live semaphores).
public struct RemoveIPCSetting: Sendable, Equatable {
    /// The effective value.
    public var enabled: Bool
    /// Where it came from: "/etc/systemd/logind.conf.d/10-x.conf line 2", or "systemd's built-in default".
    public var source: String
    /// The highest system uid: logind spares uids up to it (SYS_UID_MAX).
    public var sysUidMax: UInt32
    /// Where `sysUidMax` came from: "/etc/login.defs", or "default".
    public var sysUidMaxSource: String

    public init(enabled: Bool, source: String, sysUidMax: UInt32 = 999, sysUidMaxSource: String = "default") {
        self.enabled = enabled
        self.source = source
        self.sysUidMax = sysUidMax
        self.sysUidMaxSource = sysUidMaxSource
    }
}

/// Reads logind.conf and its drop-ins the way systemd does, and SYS_UID_MAX from login.defs.
public enum LogindConfig {
    /// The main file's candidates (the first that exists is read) and the drop-in directories, highest priority
    /// first, under a root ("/" on a real host; a scratch copy in tests).
    public static func layout(root: String) -> (mains: [String], dropInDirs: [String]) {
        let r = root.hasSuffix("/") ? String(root.dropLast()) : root
        let bases = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"].map { r + $0 }
        return (bases.map { $0 + "/logind.conf" }, bases.map { $0 + "/logind.conf.d" })
    }

    /// The files to parse, in order: the main file, then every `*.conf` of the drop-in directories sorted by file
    /// name, a name in a higher-priority directory hiding the same name in lower ones. `list` lists a
    /// directory's entries (nil when it cannot be read); `isFile` tells a readable regular file.
    public static func files(mains: [String], dropInDirs: [String], list: (String) -> [String]?,
                             isFile: (String) -> Bool) -> [String] {
        var out: [String] = []
        if let main = mains.first(where: isFile) { out.append(main) }
        var byName: [String: String] = [:]
        for dir in dropInDirs {
            for name in list(dir) ?? [] where name.hasSuffix(".conf") && byName[name] == nil {
                let path = dir + "/" + name
                if isFile(path) { byName[name] = path }
            }
        }
        out += byName.keys.sorted().compactMap { byName[$0] }
        return out
    }

    /// The last valid `RemoveIPC=` of the `[Login]` section in one file's text, with its line number. Pure.
    /// Comments (# ;), blank lines and other sections are skipped; an invalid boolean is ignored (systemd logs
    /// it and keeps the previous value).
    public static func removeIPC(in text: String) -> (value: Bool, line: Int)? {
        var section = ""
        var found: (Bool, Int)?
        for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard section == "Login", let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: " \t")
            guard key == "RemoveIPC" else { continue }
            if let v = parseBoolean(line[line.index(after: eq)...].trimmingCharacters(in: " \t")) {
                found = (v, n + 1)
            }
        }
        return found
    }

    /// systemd's parse_boolean: 1/yes/y/true/t/on and 0/no/n/false/f/off, any case.
    public static func parseBoolean(_ s: String) -> Bool? {
        switch s.lowercased() {
        case "1", "yes", "y", "true", "t", "on": return true
        case "0", "no", "n", "false", "f", "off": return false
        default: return nil
        }
    }

    /// `SYS_UID_MAX` from login.defs text ("SYS_UID_MAX   999"); nil when absent or not a number. Pure.
    public static func sysUidMax(inLoginDefs text: String) -> UInt32? {
        var value: UInt32?
        for raw in text.split(whereSeparator: \.isNewline) {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "SYS_UID_MAX", !fields[0].hasPrefix("#") else { continue }
            value = UInt32(fields[1])
        }
        return value
    }

    /// The effective setting. `logindConf`: nil reads the host's files under "/"; a directory is a root holding
    /// etc/systemd/logind.conf and the drop-in directories; a file is the main file, with drop-ins in FILE.d.
    /// `loginDefs`: the login.defs file (default /etc/login.defs; a missing file means SYS_UID_MAX 999).
    /// Unreadable files are reported in `warnings`.
    public static func effective(logindConf: String?, loginDefs: String?, warnings: inout [String]) -> RemoveIPCSetting {
        let mains: [String]
        let dirs: [String]
        if let p = logindConf, !isDirectory(p) {
            (mains, dirs) = ([p], [p + ".d"])
        } else {
            (mains, dirs) = layout(root: logindConf ?? "/")
        }
        let paths = files(mains: mains, dropInDirs: dirs, list: entries, isFile: isRegularFile)
        var setting = RemoveIPCSetting(enabled: true, source: "systemd's built-in default")
        for path in paths {
            guard let text = readConfig(path) else {
                warnings.append("cannot read \(path) (not a readable regular file of at most 1 MiB); RemoveIPC= is judged without it")
                continue
            }
            if let (v, line) = removeIPC(in: text) {
                setting.enabled = v
                setting.source = "\(path) line \(line)"
            }
        }
        let defs = loginDefs ?? "/etc/login.defs"
        if let text = readConfig(defs), let max = sysUidMax(inLoginDefs: text) {
            setting.sysUidMax = max
            setting.sysUidMaxSource = defs
        } else if loginDefs != nil {
            warnings.append("no SYS_UID_MAX in \(defs) (missing or unreadable): system uids are taken as 0-999")
        }
        return setting
    }
}

extension LogindConfig {
    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The names in a directory (without . and ..), or nil when it cannot be listed.
    static func entries(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        var out: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// A configuration file's text: opened without blocking, a regular file, at most `limit` bytes; nil otherwise
    /// (a FIFO, a device, /dev/zero or a huge file never hangs or exhausts memory).
    static func readConfig(_ path: String, limit: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) <= limit else { return nil }
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var used = 0
        while used <= limit {
            let n = bytes.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return read(fd, base + used, raw.count - used)
            }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            used += n
        }
        guard used <= limit else { return nil }
        return String(decoding: bytes[..<used], as: UTF8.self)
    }
}

/// The in-use and suspect objects of one non-system uid that logind would destroy at its last logout.
public struct RemoveIPCFinding: Sendable, Equatable {
    public var uid: UInt32
    /// The login name; nil without a passwd entry.
    public var user: String?
    /// The objects (owner or creator is `uid`), in-use and suspect, by kind and id.
    public var objects: [IPCObjectRef]
    public var inUse: Int
    public var suspect: Int
    /// "RemoveIPC=yes: these 3 in-use objects of uid 1001 (alice) will be destroyed ...".
    public var message: String

    public init(uid: UInt32, user: String?, objects: [IPCObjectRef], inUse: Int, suspect: Int, message: String) {
        self.uid = uid
        self.user = user
        self.objects = objects
        self.inUse = inUse
        self.suspect = suspect
        self.message = message
    }
}

/// RemoveIPC= in the audit: the setting and the uids at risk.
public struct RemoveIPCReport: Sendable, Equatable {
    public var setting: RemoveIPCSetting
    public var findings: [RemoveIPCFinding]

    public init(setting: RemoveIPCSetting, findings: [RemoveIPCFinding]) {
        self.setting = setting
        self.findings = findings
    }

    /// Every non-system uid (above SYS_UID_MAX) that owns or created in-use or suspect objects, when RemoveIPC
    /// is on (systemd's clean-ipc matches the owner or the creator uid); none when it is off. Pure.
    public static func analyse(_ items: [Classification], setting: RemoveIPCSetting, names: NameLookup) -> RemoveIPCReport {
        guard setting.enabled else { return RemoveIPCReport(setting: setting, findings: []) }
        var byUid: [UInt32: [Classification]] = [:]
        for c in items where c.verdict == .inUse || c.verdict == .suspect {
            for uid in Set([c.object.perm.uid, c.object.perm.cuid]) where uid > setting.sysUidMax {
                byUid[uid, default: []].append(c)
            }
        }
        let findings = byUid.keys.sorted().map { uid -> RemoveIPCFinding in
            let list = (byUid[uid] ?? []).sorted { ($0.object.kind, $0.object.id) < ($1.object.kind, $1.object.id) }
            let inUse = list.filter { $0.verdict == .inUse }.count
            let suspect = list.count - inUse
            let user = names.user(uid)
            let who = user.map { "uid \(uid) (\($0))" } ?? "uid \(uid) (no passwd entry)"
            let these: String
            if list.count == 1 { these = "this \(inUse == 1 ? "in-use" : "suspect") object" }
            else if suspect == 0 { these = "these \(inUse) in-use objects" }
            else if inUse == 0 { these = "these \(suspect) suspect objects" }
            else { these = "these \(list.count) objects (\(inUse) in-use, \(suspect) suspect)" }
            let ids = list.prefix(10).map { "\($0.object.kind.rawValue) \($0.object.id)" }.joined(separator: ", ")
                + (list.count > 10 ? ", ..." : "")
            let message = "RemoveIPC=yes: \(these) of \(who) will be destroyed when \(user ?? "uid \(uid)")'s last session ends (\(ids)); run the service as a system user (uid up to \(setting.sysUidMax)) or set RemoveIPC=no in a drop-in such as /etc/systemd/logind.conf.d/ipc.conf"
            return RemoveIPCFinding(uid: uid, user: user, objects: list.map(\.object.ref), inUse: inUse,
                                    suspect: suspect, message: message)
        }
        return RemoveIPCReport(setting: setting, findings: findings)
    }
}


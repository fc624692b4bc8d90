#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// systemd-logind's `RemoveIPC=` as this host has it configured, and the system uid boundary it spares.
///
/// With RemoveIPC=yes (systemd's and Debian's default) logind destroys the IPC objects a non-system user owns when
/// that user's last session ends, whether a process still uses them or not (systemd#2039, #4532: PostgreSQL and
/// DB2 lost live semaphores); `RemoveIPCReport.analyse` says exactly which.
public struct RemoveIPCSetting: Sendable, Equatable {
    /// The effective value.
    public var enabled: Bool
    /// Where it came from: "/etc/systemd/logind.conf.d/10-x.conf line 2", or "systemd's built-in default".
    public var source: String
    /// The highest system uid: logind spares uids up to it (`SystemUidBoundary`).
    public var sysUidMax: UInt32
    /// Where `sysUidMax` came from, in words (systemd.pc's system_uid_max, or login.defs where logind reads it).
    public var sysUidMaxSource: String
    /// A login.defs that disagrees with logind's boundary, or a source that could not be read; nil when none.
    public var sysUidMaxNote: String?

    public init(enabled: Bool, source: String, sysUidMax: UInt32 = SystemUidBoundary.systemdDefault,
                sysUidMaxSource: String = "systemd's default", sysUidMaxNote: String? = nil) {
        self.enabled = enabled
        self.source = source
        self.sysUidMax = sysUidMax
        self.sysUidMaxSource = sysUidMaxSource
        self.sysUidMaxNote = sysUidMaxNote
    }

    public init(enabled: Bool, source: String, boundary: SystemUidBoundary) {
        self.init(enabled: enabled, source: source, sysUidMax: boundary.max, sysUidMaxSource: boundary.source,
                  sysUidMaxNote: boundary.note)
    }
}

/// Reads logind.conf and its drop-ins the way systemd does.
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

    /// The effective setting. `logindConf`: nil reads the host's files under "/"; a directory is a root holding
    /// etc/systemd/logind.conf and the drop-in directories; a file is the main file, with drop-ins in FILE.d.
    /// `boundary`: logind's system uid boundary (`SystemUidBoundary.detect`). Unreadable files are reported in
    /// `warnings`.
    public static func effective(logindConf: String?, boundary: SystemUidBoundary, warnings: inout [String]) -> RemoveIPCSetting {
        let mains: [String]
        let dirs: [String]
        if let p = logindConf, !isDirectory(p) {
            (mains, dirs) = ([p], [p + ".d"])
        } else {
            (mains, dirs) = layout(root: logindConf ?? "/")
        }
        let paths = files(mains: mains, dropInDirs: dirs, list: entries, isFile: isRegularFile)
        var setting = RemoveIPCSetting(enabled: true, source: "systemd's built-in default", boundary: boundary)
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

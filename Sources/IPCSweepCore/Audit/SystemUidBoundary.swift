#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The highest system uid as systemd-logind sees it: logind's RemoveIPC= spares every uid up to it
/// (`uid_is_system()`), and cleans up after every uid above it.
///
/// systemd compiles the boundary in (meson's `system-uid-max`, Debian 12: 999) and records it as `system_uid_max`
/// in `systemd.pc`. Only a systemd built with `compat-mutable-uid-boundaries` reads `SYS_UID_MAX` from
/// `/etc/login.defs` at run time instead; no distribution ships one so built that we know of, and Debian 12's does
/// not: editing login.defs changes what `useradd` allocates, not what logind spares.
public struct SystemUidBoundary: Sendable, Equatable {
    /// The highest system uid.
    public var max: UInt32
    /// Where `max` came from, in words: "system_uid_max=999 in /usr/share/pkgconfig/systemd.pc (compiled into systemd)".
    public var source: String
    /// A disagreement worth knowing: a login.defs value this systemd ignores, or a source that could not be read.
    public var note: String?

    public init(max: UInt32, source: String, note: String? = nil) {
        self.max = max
        self.source = source
        self.note = note
    }

    /// systemd's own default (meson.build: `system-uid-max` falls back to 999).
    public static let systemdDefault: UInt32 = 999

    /// Whether the systemd that runs logind reads login.defs at run time, and what says so.
    public enum LoginDefsReading: Sendable, Equatable {
        /// Built with compat-mutable-uid-boundaries: the file named carries login.defs' parser.
        case yes(evidence: String)
        /// Built without it: the files named carry no login.defs parser.
        case no(evidence: String)
        /// No systemd binary could be read.
        case unknown(why: String)
    }

    /// The boundary from what was read. Pure.
    /// - compiled: `system_uid_max` and the systemd.pc it came from; nil when no systemd.pc was found.
    /// - loginDefs: `SYS_UID_MAX` and the login.defs it came from; nil when the file has none.
    /// - reading: whether this systemd reads login.defs at run time (only asked when the two disagree).
    public static func decide(compiled: (value: UInt32, path: String)?, loginDefs: (value: UInt32, path: String)?,
                              reading: () -> LoginDefsReading) -> SystemUidBoundary {
        let built = compiled.map { SystemUidBoundary(max: $0.value, source: "system_uid_max=\($0.value) in \($0.path) (compiled into systemd)") }
            ?? SystemUidBoundary(max: systemdDefault, source: "systemd's default \(systemdDefault) (no systemd.pc with system_uid_max was found to say what this systemd was built with)")
        guard let defs = loginDefs, defs.value != built.max else { return built }
        switch reading() {
        case .no(let evidence):
            var b = built
            b.note = "SYS_UID_MAX \(defs.value) in \(defs.path) is not what systemd-logind uses: this systemd reads no login.defs at run time (\(evidence)); logind spares uids up to \(built.max) only"
            return b
        case .yes(let evidence):
            return SystemUidBoundary(max: defs.value, source: "SYS_UID_MAX \(defs.value) in \(defs.path), read at run time by this systemd (built with compat-mutable-uid-boundaries: \(evidence))",
                                     note: "systemd-logind reads \(defs.path) when it starts: after editing it, restart systemd-logind")
        case .unknown(let why):
            // Unsure which one logind uses: the lower boundary, so that nothing logind may destroy goes unmentioned.
            let low = min(built.max, defs.value)
            let source = low == built.max ? built.source : "SYS_UID_MAX \(defs.value) in \(defs.path)"
            return SystemUidBoundary(max: low, source: source,
                                     note: "could not tell whether systemd-logind reads \(defs.path) (\(why)): \(built.source) and SYS_UID_MAX \(defs.value) disagree, so the lower, \(low), is used and nothing logind may destroy is left out")
        }
    }

    /// `system_uid_max=N` of a pkg-config file (systemd.pc); nil when absent or not a plain number. Pure.
    public static func systemUidMax(inPkgConfig text: String) -> UInt32? {
        var value: UInt32?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: " \t\r")
            guard line.hasPrefix("system_uid_max="), let v = UInt32(line.dropFirst("system_uid_max=".count)) else { continue }
            value = v
        }
        return value
    }

    /// `SYS_UID_MAX` of login.defs text as systemd's `read_login_defs()` takes it: a line starting with the word, the
    /// last valid one winning, 0 read as 1; nil when absent. Pure.
    public static func sysUidMax(inLoginDefs text: String) -> UInt32? {
        var value: UInt32?
        for raw in text.split(whereSeparator: \.isNewline) {
            let fields = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard raw.hasPrefix("SYS_UID_MAX"), fields.count >= 2, fields[0] == "SYS_UID_MAX", let v = UInt32(fields[1]) else { continue }
            value = Swift.max(v, 1)
        }
        return value
    }

    /// The message only `read_login_defs()` of a systemd built with compat-mutable-uid-boundaries carries.
    static let loginDefsParserMarker = Array("SYS_UID_MIN > SYS_UID_MAX, resetting".utf8)

    /// Where systemd.pc is installed (Debian: /usr/share/pkgconfig; others: lib, lib64, the multiarch directory).
    public static func pkgConfigCandidates(usrLib: [String]?) -> [String] {
        let multiarch = (usrLib ?? []).filter { $0.contains("-linux-") }.sorted().map { "/usr/lib/\($0)/pkgconfig/systemd.pc" }
        return ["/usr/share/pkgconfig/systemd.pc", "/usr/lib/pkgconfig/systemd.pc"] + multiarch + ["/usr/lib64/pkgconfig/systemd.pc"]
    }
}

extension SystemUidBoundary {
    /// Reads the boundary of this host's systemd-logind: `system_uid_max` of the installed systemd.pc, and `SYS_UID_MAX`
    /// of `loginDefs` (default /etc/login.defs) where the two disagree and the systemd that runs logind reads it. The
    /// binaries asked are those the running logind (`logindPid`, through `procRoot`) has mapped, else libsystemd-shared
    /// and systemd-logind where systemd installs them.
    public static func detect(loginDefs: String?, logindPid: Int32?, procRoot: String = "/proc") -> SystemUidBoundary {
        var compiled: (UInt32, String)?
        for path in pkgConfigCandidates(usrLib: LogindConfig.entries("/usr/lib")) {
            if let text = LogindConfig.readConfig(path, limit: 64 << 10), let v = systemUidMax(inPkgConfig: text) {
                compiled = (v, path)
                break
            }
        }
        let defsPath = loginDefs ?? "/etc/login.defs"
        let defs = LogindConfig.readConfig(defsPath).flatMap(sysUidMax(inLoginDefs:)).map { ($0, defsPath) }
        return decide(compiled: compiled, loginDefs: defs) {
            loginDefsReading(binaries: systemdBinaries(logindPid: logindPid, procRoot: procRoot))
        }
    }

    /// A systemd binary to ask: its path as systemd sees it, the path this tool reads it through, and the pid of
    /// the systemd-logind that runs it (nil: an installed file).
    struct Binary: Equatable {
        var path: String
        var readPath: String
        var pid: Int32?
    }

    /// The systemd binaries that decide: the running logind's executable and its libsystemd-shared (from
    /// /proc/PID/maps, read through /proc/PID/root), else the installed ones.
    static func systemdBinaries(logindPid: Int32?, procRoot: String) -> [Binary] {
        if let pid = logindPid, let maps = try? FileIO.readText("\(procRoot)/\(pid)/maps", limit: 4 << 20, requireRegular: false) {
            var paths: [String] = []
            for line in maps.split(separator: "\n") {
                guard let slash = line.firstIndex(of: "/") else { continue }
                var path = String(line[slash...])
                if path.hasSuffix(" (deleted)") { path = String(path.dropLast(" (deleted)".count)) }
                let base = path.split(separator: "/").last.map(String.init) ?? ""
                if (base.hasPrefix("libsystemd-shared") || base == "systemd-logind"), !paths.contains(path) { paths.append(path) }
            }
            if !paths.isEmpty { return paths.map { Binary(path: $0, readPath: "\(procRoot)/\(pid)/root" + $0, pid: pid) } }
        }
        var out: [String] = []
        let dirs = ["/usr/lib/systemd", "/lib/systemd", "/usr/lib64/systemd"]
            + (LogindConfig.entries("/usr/lib") ?? []).filter { $0.contains("-linux-") }.sorted().map { "/usr/lib/\($0)/systemd" }
        for dir in dirs {
            for name in (LogindConfig.entries(dir) ?? []).sorted() where name.hasPrefix("libsystemd-shared") && name.contains(".so") {
                out.append(dir + "/" + name)
            }
        }
        for logind in ["/usr/lib/systemd/systemd-logind", "/lib/systemd/systemd-logind"] where LogindConfig.isRegularFile(logind) {
            out.append(logind)
            break
        }
        return out.map { Binary(path: $0, readPath: $0, pid: nil) }
    }

    /// Whether any of the binaries carries login.defs' parser. `contains` searches one file (injected for tests).
    static func loginDefsReading(binaries: [Binary], contains: (String, [UInt8]) -> Bool? = fileContains) -> LoginDefsReading {
        var read: [Binary] = []
        for b in binaries {
            guard let found = contains(b.readPath, loginDefsParserMarker) else { continue }
            let runs = b.pid.map { ", which systemd-logind (pid \($0)) runs," } ?? ""
            if found { return .yes(evidence: "\(b.path)\(runs) carries login.defs' parser") }
            read.append(b)
        }
        if read.isEmpty {
            return .unknown(why: binaries.isEmpty ? "no systemd-logind or libsystemd-shared found"
                                : "cannot read \(binaries.map(\.path).joined(separator: ", "))")
        }
        let runs = read.first?.pid.map { ", which systemd-logind (pid \($0)) runs" } ?? ""
        return .no(evidence: "no login.defs parser in \(read.map(\.path).joined(separator: " or "))\(runs)")
    }

    /// Whether `count` bytes at `haystack` contain the `needleCount` bytes at `needle` (memchr for the first byte,
    /// then memcmp: glibc's memmem is a GNU extension Swift does not import).
    static func search(_ haystack: UnsafeRawPointer?, _ count: Int, _ needle: UnsafeRawPointer?, _ needleCount: Int) -> Bool {
        guard let h = haystack, let n = needle, needleCount > 0, count >= needleCount else { return false }
        let first = Int32(n.load(as: UInt8.self))
        var offset = 0
        while offset <= count - needleCount {
            guard let hit = memchr(h + offset, first, count - needleCount + 1 - offset) else { return false }
            let at = hit - UnsafeMutableRawPointer(mutating: h)
            if memcmp(h + at, n, needleCount) == 0 { return true }
            offset = at + 1
        }
        return false
    }

    /// Whether a file contains `needle`, read in 1 MiB blocks (at most 256 MiB); nil when it cannot be read.
    static func fileContains(_ path: String, _ needle: [UInt8]) -> Bool? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, !needle.isEmpty else { return nil }
        let block = 1 << 20
        var buffer = [UInt8](repeating: 0, count: block + needle.count)
        var carried = 0
        var total = 0
        while total < 256 << 20 {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return read(fd, base + carried, block)
            }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return false }
            total += n
            let used = carried + n
            if buffer.withUnsafeBytes({ raw in
                needle.withUnsafeBytes { search(raw.baseAddress, used, $0.baseAddress, needle.count) }
            }) { return true }
            // Keep the tail: the needle may straddle two blocks.
            carried = min(needle.count - 1, used)
            buffer.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return }
                memmove(base, base + (used - carried), carried)
            }
        }
        return false
    }
}

/// Parses /proc/sysvipc/{sem,shm,msg}: a pure function of the file's bytes.
///
/// Columns are found by the names in the header line and fields by splitting on
/// whitespace (the kernel's widths are minimums, so positions drift). Keys are
/// signed decimal, `perms` is octal (shm adds SHM_DEST 01000 and SHM_LOCKED 02000),
/// times are epoch seconds with 0 for never; shm `rss`/`swap` are optional.
/// A bad line is skipped with a warning naming the file and line; a file whose
/// header lacks a required column is an error naming the file and the column.
public enum SysVIPCProcParser {
    /// A problem with the whole file.
    public struct FormatError: Error, Equatable, CustomStringConvertible {
        public var path: String
        public var message: String
        public var description: String { "\(path): \(message)" }
    }

    static let semColumns = ["key", "semid", "perms", "nsems", "uid", "gid", "cuid", "cgid", "otime", "ctime"]
    static let shmColumns = ["key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid", "gid", "cuid", "cgid",
                             "atime", "dtime", "ctime"]
    static let msgColumns = ["key", "msqid", "perms", "cbytes", "qnum", "lspid", "lrpid", "uid", "gid", "cuid", "cgid",
                             "stime", "rtime", "ctime"]

    /// Parses the contents of /proc/sysvipc/sem.
    public static func parseSemaphoreSets(_ bytes: [UInt8], path: String = "/proc/sysvipc/sem",
                                          warnings: inout [String]) throws -> [SemaphoreSet] {
        try parse(bytes, path: path, required: semColumns, optional: [], warnings: &warnings) { f in
            guard let perm = try permissions(f, idColumn: "semid") else { return nil }
            return SemaphoreSet(id: try f.int32("semid"), perm: perm, nsems: Int(try f.int64("nsems")),
                                otime: try f.int64("otime"), ctime: try f.int64("ctime"))
        }
    }

    /// Parses the contents of /proc/sysvipc/shm (with or without `rss`/`swap`).
    public static func parseSegments(_ bytes: [UInt8], path: String = "/proc/sysvipc/shm",
                                     warnings: inout [String]) throws -> [SharedMemorySegment] {
        try parse(bytes, path: path, required: shmColumns, optional: ["rss", "swap"], warnings: &warnings) { f in
            guard let perm = try permissions(f, idColumn: "shmid") else { return nil }
            return SharedMemorySegment(
                id: try f.int32("shmid"), perm: perm, size: try f.uint64("size"), cpid: try f.int32("cpid"),
                lpid: try f.int32("lpid"), nattch: try f.uint64("nattch"), atime: try f.int64("atime"),
                dtime: try f.int64("dtime"), ctime: try f.int64("ctime"),
                rss: try f.optionalUInt64("rss"), swap: try f.optionalUInt64("swap"))
        }
    }

    /// Parses the contents of /proc/sysvipc/msg.
    public static func parseQueues(_ bytes: [UInt8], path: String = "/proc/sysvipc/msg",
                                   warnings: inout [String]) throws -> [MessageQueue] {
        try parse(bytes, path: path, required: msgColumns, optional: [], warnings: &warnings) { f in
            guard let perm = try permissions(f, idColumn: "msqid") else { return nil }
            return MessageQueue(
                id: try f.int32("msqid"), perm: perm, cbytes: try f.uint64("cbytes"), qnum: try f.uint64("qnum"),
                lspid: try f.int32("lspid"), lrpid: try f.int32("lrpid"), stime: try f.int64("stime"),
                rtime: try f.int64("rtime"), ctime: try f.int64("ctime"))
        }
    }

    private static func permissions(_ f: Fields, idColumn: String) throws -> IPCPermissions? {
        IPCPermissions(key: try f.int32("key"), uid: try f.uint32("uid"), gid: try f.uint32("gid"),
                       cuid: try f.uint32("cuid"), cgid: try f.uint32("cgid"), mode: try f.octal("perms"))
    }

    /// A field that would not parse; caught per line and turned into a warning.
    struct FieldError: Error {
        var column: String
        var text: String
    }

    /// The fields of one line, addressed by column name.
    struct Fields {
        let line: ArraySlice<UInt8>
        let ranges: [Range<Int>]
        let index: [String: Int]

        func text(_ column: String) -> Substring? {
            guard let i = index[column], i < ranges.count else { return nil }
            return Substring(decoding: line[ranges[i]], as: UTF8.self)
        }

        private func signed(_ column: String) throws -> Int64 {
            guard let i = index[column], i < ranges.count else { throw FieldError(column: column, text: "") }
            var value: Int64 = 0
            var negative = false
            var digits = 0
            for (n, b) in line[ranges[i]].enumerated() {
                if n == 0 && b == UInt8(ascii: "-") { negative = true; continue }
                guard b >= 48 && b <= 57 else { throw FieldError(column: column, text: String(text(column) ?? "")) }
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int64(b - 48))
                if o1 || o2 { throw FieldError(column: column, text: String(text(column) ?? "")) }
                value = s
                digits += 1
            }
            if digits == 0 { throw FieldError(column: column, text: String(text(column) ?? "")) }
            return negative ? -value : value
        }

        func int64(_ c: String) throws -> Int64 { try signed(c) }
        func int32(_ c: String) throws -> Int32 {
            guard let v = Int32(exactly: try signed(c)) else { throw FieldError(column: c, text: String(text(c) ?? "")) }
            return v
        }
        func uint32(_ c: String) throws -> UInt32 {
            guard let v = UInt32(exactly: try signed(c)) else { throw FieldError(column: c, text: String(text(c) ?? "")) }
            return v
        }
        func uint64(_ c: String) throws -> UInt64 {
            guard let v = UInt64(exactly: try signed(c)) else { throw FieldError(column: c, text: String(text(c) ?? "")) }
            return v
        }
        func optionalUInt64(_ c: String) throws -> UInt64? {
            guard index[c] != nil else { return nil }
            return try uint64(c)
        }
        func octal(_ c: String) throws -> UInt32 {
            guard let t = text(c), let v = UInt32(t, radix: 8) else {
                throw FieldError(column: c, text: String(text(c) ?? ""))
            }
            return v
        }
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 }

    private static func split(_ line: ArraySlice<UInt8>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        out.reserveCapacity(16)
        var i = line.startIndex
        while i < line.endIndex {
            while i < line.endIndex && isSpace(line[i]) { i += 1 }
            let start = i
            while i < line.endIndex && !isSpace(line[i]) { i += 1 }
            if i > start { out.append(start..<i) }
        }
        return out
    }

    private static func parse<T>(_ bytes: [UInt8], path: String, required: [String], optional: [String],
                                 warnings: inout [String], make: (Fields) throws -> T?) throws -> [T] {
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)[...]
        // Skip leading blank lines; an empty file is an error (the kernel always prints the header).
        var lineNumber = 0
        while let first = lines.first, split(first).isEmpty {
            lines = lines.dropFirst()
            lineNumber += 1
        }
        guard let header = lines.first else {
            throw FormatError(path: path, message: "empty file: expected a header line naming the columns")
        }
        lineNumber += 1
        let headerFields = split(header)
        var index: [String: Int] = [:]
        for (i, r) in headerFields.enumerated() {
            let name = String(decoding: header[r], as: UTF8.self)
            if index[name] == nil { index[name] = i }
        }
        let missing = required.filter { index[$0] == nil }
        guard missing.isEmpty else {
            throw FormatError(path: path, message:
                "header lacks column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")); "
                + "is this a /proc/sysvipc file? (give --source syscall to read the kernel directly)")
        }
        let needed = (required + optional).compactMap { index[$0] }.max().map { $0 + 1 } ?? 0
        var out: [T] = []
        for line in lines.dropFirst() {
            lineNumber += 1
            let ranges = split(line)
            if ranges.isEmpty { continue }
            guard ranges.count >= needed else {
                warnings.append("\(path):\(lineNumber): skipped: expected at least \(needed) fields, found \(ranges.count)")
                continue
            }
            do {
                if let value = try make(Fields(line: line, ranges: ranges, index: index)) { out.append(value) }
            } catch let e as FieldError {
                warnings.append("\(path):\(lineNumber): skipped: column \(e.column) is not a number (\"\(e.text)\")")
            }
        }
        return out
    }
}

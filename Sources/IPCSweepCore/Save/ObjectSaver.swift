import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A save file written and in place.
public struct SavedFile: Sendable, Equatable {
    public var path: String
    /// The object's logical size (segments and files), or its message bytes (queues).
    public var size: Int64
    /// Bytes of data stored (without holes).
    public var dataBytes: Int64
    public var extents: Int
    /// The save file's size.
    public var fileBytes: Int64
}

/// Why a save did not happen; the object is then kept, and no partial file is left.
public enum SaveFailure: Error, Equatable, CustomStringConvertible {
    /// It would not fit in the directory's free space (checked before anything is written).
    case noSpace(SpaceShortage)
    /// The save file could not be created, written (ENOSPC, EDQUOT, EIO), synced or put in place.
    case write(FileError, written: Int64, total: Int64)
    /// The object could not be read.
    case read(String)
    /// The object changed while it was being saved.
    case changed(String)

    public var description: String {
        switch self {
        case .noSpace(let s): return s.description
        case .write(let e, let written, let total):
            var s = e.description
            if written > 0 { s += " after \(SaveSpace.text(written)) of \(SaveSpace.text(total))" }
            switch e.errno {
            case .noSpace: s += " (the file system of the save directory is full)"
            case .diskQuotaExceeded: s += " (the disk quota of this user is exhausted)"
            case .ioError: s += " (an I/O error on the save directory's device)"
            default: break
            }
            return s + "; the partial save file was deleted"
        case .read(let why): return why
        case .changed(let why): return why
        }
    }
}

/// What `saveData`/`saveMessages` did: saved, failed, or stopped by the caller's last check before the commit.
public enum SaveOutcome<Stop> {
    case saved(SavedFile)
    case failed(SaveFailure)
    case stopped(Stop)
}

/// Points in a save where a debug build's test hook runs (IPCSWEEP_TEST_SAVE_HOOK).
public enum SaveStage: String, Sendable {
    /// The first chunk of data is written, the file is not complete.
    case writing
    /// The save is complete and in place; the object is not removed yet.
    case written
}

/// Saves one object's content to a file in the save directory: a segment's or file's data extents streamed
/// through one fixed buffer (the memory used does not grow with the object), or a queue's messages.
///
/// Order: measure the data extents (lseek only); create the unnamed file; reserve its size from the
/// directory's free space (statvfs, with a margin) or stop with a `SpaceShortage`; write header, records and
/// checksums; run the caller's last check (`beforeCommit`: the object must not have changed); fsync and give it
/// its name. Any failure frees the unfinished file: nothing is left but a complete save in place.
public struct ObjectSaver: Sendable {
    public let syscalls: any SaveSyscalls
    /// Shared by every copy: saves running at the same time reserve from the same free space.
    public let space = SaveSpace()
    /// Progress on a terminal; nil: none.
    public var progress: SaveProgress?
    /// The bytes read and written at a time.
    public var bufferSize = 4 << 20
    /// The IPC namespace the objects are saved from (the `ipc-namespace` header field).
    public var namespace: UInt64?
    /// Runs at each stage with the save file's path (debug builds' test hook).
    public var stageHook: (@Sendable (SaveStage, String) -> Void)?

    public init(syscalls: any SaveSyscalls = LiveSaveSyscalls()) { self.syscalls = syscalls }

    private func headerFields(_ header: [(String, String)]) -> [(String, String)] {
        header + (namespace.map { [("ipc-namespace", String($0))] } ?? [])
    }

    /// Saves a segment's or file's content as its data extents and holes.
    public func saveData<Stop>(_ source: any SaveDataSource, directory: String, name: String, header: [(String, String)],
                               label: String, beforeCommit: () -> Stop?) -> SaveOutcome<Stop> {
        let measure: DataMeasure
        switch DataMeasure.of(source) {
        case .success(let m): measure = m
        case .failure(let e): return .failed(.read("cannot find the data of \(source.description) (lseek SEEK_DATA/SEEK_HOLE): \(e)"))
        }
        let needed = measure.dataBytes + SaveSpace.overhead(extents: measure.extents)
        let fields = headerFields(header) + [("data-bytes", String(measure.dataBytes)), ("extents", String(measure.extents))]
        return write(directory: directory, name: name, needed: needed, dataBytes: measure.dataBytes, beforeCommit: beforeCommit) {
            encoder, writer throws(SaveFailure) -> SavedFile in
            let task = progress?.begin(label, total: measure.dataBytes)
            defer { task?.end() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
            defer { buffer.deallocate() }
            var first = true
            func failWrite(_ e: FileError) -> SaveFailure { .write(e, written: encoder.written, total: needed) }
            do throws(FileError) { try encoder.begin(fields) } catch { throw failWrite(error) }
            var pos: Int64 = 0
            var copied = DataMeasure(dataBytes: 0, extents: 0)
            while true {
                let extent: DataExtent
                switch source.nextExtent(from: pos) {
                case .failure(let e): throw .read("cannot find the data of \(source.description) at offset \(pos) (lseek): \(e)")
                case .success(nil):
                    if pos < source.size {
                        do throws(FileError) { try encoder.hole(at: pos, length: source.size - pos) } catch { throw failWrite(error) }
                    }
                    do throws(FileError) { try encoder.finish() } catch { throw failWrite(error) }
                    guard copied == measure else {
                        throw .changed("its data went from \(measure.dataBytes) bytes in \(measure.extents) extents to \(copied.dataBytes) bytes in \(copied.extents) while it was saved")
                    }
                    return SavedFile(path: writer.path, size: source.size, dataBytes: copied.dataBytes, extents: copied.extents,
                                     fileBytes: encoder.written)
                case .success(let e?): extent = e
                }
                do throws(FileError) {
                    if extent.offset > pos { try encoder.hole(at: pos, length: extent.offset - pos) }
                    try encoder.beginExtent(at: extent.offset, length: extent.length)
                } catch { throw failWrite(error) }
                var at = extent.offset
                while at < extent.end {
                    let want = Int(min(Int64(buffer.count), extent.end - at))
                    let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
                    let n: Int
                    switch source.read(into: piece, at: at) {
                    case .success(let got) where got > 0: n = got
                    case .success: throw .changed("\(source.description) ended at offset \(at) while it was saved, inside data that reached \(extent.end)")
                    case .failure(let e): throw .read("reading \(source.description) at offset \(at) failed: \(e)")
                    }
                    do throws(FileError) { try encoder.data(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) } catch { throw failWrite(error) }
                    at += Int64(n)
                    task?.advance(Int64(n))
                    if first {
                        first = false
                        stageHook?(.writing, writer.path)
                    }
                }
                do throws(FileError) { try encoder.endExtent() } catch { throw failWrite(error) }
                copied.dataBytes += extent.length
                copied.extents += 1
                pos = extent.end
            }
        }
    }

    /// Saves a queue's messages (held in memory: a queue holds at most its capacity).
    public func saveMessages<Stop>(_ messages: [QueuedMessage], directory: String, name: String, header: [(String, String)],
                                   label: String, beforeCommit: () -> Stop?) -> SaveOutcome<Stop> {
        let bytes = SaveFormat.encodeMessages(header: headerFields(header), messages)
        let data = messages.reduce(Int64(0)) { $0 + Int64($1.bytes.count) }
        return write(directory: directory, name: name, needed: Int64(bytes.count), dataBytes: data, beforeCommit: beforeCommit) {
            _, writer throws(SaveFailure) -> SavedFile in
            var failure: FileError?
            bytes.withUnsafeBytes { raw in
                do throws(FileError) { try writer.write(raw) } catch { failure = error }
            }
            if let failure { throw .write(failure, written: 0, total: Int64(bytes.count)) }
            stageHook?(.writing, writer.path)
            return SavedFile(path: writer.path, size: data, dataBytes: data, extents: 0, fileBytes: Int64(bytes.count))
        }
    }

    /// Creates the file, reserves its space, runs `body`, the caller's last check, and commits.
    private func write<Stop>(directory: String, name: String, needed: Int64, dataBytes: Int64, beforeCommit: () -> Stop?,
                             _ body: (inout SaveEncoder<WriterOutput>, SaveFileWriter) throws(SaveFailure) -> SavedFile) -> SaveOutcome<Stop> {
        let writer: SaveFileWriter
        do { writer = try SaveFileWriter(directory: directory, name: name, syscalls: syscalls) } catch {
            return .failed(.write(error, written: 0, total: needed))
        }
        defer { writer.abandon() }
        switch writer.freeSpace() {
        case .success(let vfs):
            if let short = space.reserve(needed, dataBytes: dataBytes, directory: directory, vfs: vfs) { return .failed(.noSpace(short)) }
        case .failure(let e):
            return .failed(.write(FileError(path: directory, operation: "statvfs", errno: e), written: 0, total: needed))
        }
        defer { space.release(needed) }
        var encoder = SaveEncoder(output: WriterOutput(writer: writer))
        let saved: SavedFile
        do { saved = try body(&encoder, writer) } catch { return .failed(error) }
        if let stop = beforeCommit() { return .stopped(stop) }
        do { try writer.commit() } catch { return .failed(.write(error, written: saved.fileBytes, total: saved.fileBytes)) }
        stageHook?(.written, writer.path)
        return .saved(saved)
    }
}

/// The encoder's output: the writer.
public struct WriterOutput: SaveOutput {
    let writer: SaveFileWriter
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) { try writer.write(bytes) }
}

import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why standard output could not be written.
public struct OutputFailure: Sendable, Equatable, CustomStringConvertible {
    public var errno: Errno
    /// The reader went away (`| head`): not an error, the tool ends quietly.
    public var isClosedPipe: Bool { errno == .brokenPipe }
    /// "No space left on device (ENOSPC)".
    public var reason: String { "\(String(cString: strerror(errno.rawValue)))\(OutputSink.symbol(errno).map { " (\($0))" } ?? "")" }
    public var description: String { "cannot write to standard output: \(reason)" }
}

/// The one place every command writes its standard output through (tables, CSV, JSON, Prometheus, clean's
/// report, help text).
///
/// write(2) until every byte is out (EINTR retried). On failure the process ends at once, like other Unix tools:
/// - `EPIPE` (the reader closed the pipe, `ipcsweep list | head`): quietly, by SIGPIPE (a shell shows status 141),
///   exactly as `ls | head` ends; SIGPIPE is ignored while the tool runs, so that the failure is seen here first.
/// - any other errno (`ENOSPC` on a full disk or `/dev/full`, `EIO`, `EBADF` for a closed descriptor): a one-line
///   error on standard error and exit status 1, never a silent exit 0 with the output lost.
/// Before ending, `onFailure` runs (clean uses it to say on standard error and in the journal that its removals
/// happened although their report was lost).
public final class OutputSink: Sendable {
    /// Standard output.
    public static let standardOutput = OutputSink(fd: 1)

    public let fd: Int32
    private struct State {
        var onFailure: (@Sendable (OutputFailure) -> String?)?
        var wroteAnything = false
    }
    private let state = Locked(State())

    /// Runs once, just before the process ends because a write failed; a returned line replaces the default
    /// error message (ignored for a closed pipe, which ends quietly).
    public var onFailure: (@Sendable (OutputFailure) -> String?)? {
        get { state.withLock { $0.onFailure } }
        set { state.withLock { $0.onFailure = newValue } }
    }

    /// Whether anything was written (a closed descriptor that was never written to is not an error at `finish`).
    public var wroteAnything: Bool { state.withLock { $0.wroteAnything } }

    init(fd: Int32) { self.fd = fd }

    /// Ignores SIGPIPE for the whole run, so that a closed pipe is an EPIPE seen by `write` (and by clean's
    /// other writes) rather than a signal that kills the process between two syscalls.
    public static func prepare() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Writes bytes; on failure ends the process (see the type's documentation).
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        state.withLock { $0.wroteAnything = true }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if Glibc.errno == EINTR { continue }
                if Glibc.errno == EAGAIN {  // a non-blocking descriptor inherited from the caller: wait until writable
                    var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&p, 1, -1)
                    continue
                }
                fail(Errno(rawValue: Glibc.errno))
            }
            offset += n
        }
    }

    /// Writes text as UTF-8.
    public func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// At the end of a run: close(2) the descriptor, which reports a write error that surfaced only then (EIO or
    /// ENOSPC of delayed write-back on NFS); ends the process like a failed write when it does.
    public func finish() {
        if close(fd) != 0 {
            let e = Errno(rawValue: Glibc.errno)
            if e == .interrupted || (e == .badFileDescriptor && !wroteAnything) { return }
            fail(e)
        }
    }

    /// Ends the process for a failed write: quietly by SIGPIPE for EPIPE, else a one-line error and exit 1.
    public func fail(_ e: Errno) -> Never {
        let failure = OutputFailure(errno: e)
        let hook = state.withLock { s in
            defer { s.onFailure = nil }
            return s.onFailure
        }
        let message = hook?(failure)
        if failure.isClosedPipe {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
            exit(128 + SIGPIPE)
        }
        var line = Array("ipcsweep: error: \(message ?? "\(failure.description); the output is incomplete")\n".utf8)
        _ = line.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        exit(1)
    }

    /// "ENOSPC" for the errnos a write to standard output commonly meets.
    static func symbol(_ e: Errno) -> String? {
        switch e {
        case .noSpace: return "ENOSPC"
        case .ioError: return "EIO"
        case .brokenPipe: return "EPIPE"
        case .badFileDescriptor: return "EBADF"
        case .diskQuotaExceeded: return "EDQUOT"
        case .fileTooLarge: return "EFBIG"
        case .wouldBlock: return "EAGAIN"
        case .noSuchAddressOrDevice: return "ENXIO"
        default: return nil
        }
    }
}

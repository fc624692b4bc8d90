import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

/// Facts about standard output.
enum Terminal {
    static var stdoutIsTerminal: Bool { isatty(1) == 1 }

    static func useColor(_ c: ColorChoice) -> Bool {
        switch c {
        case .always: return true
        case .never: return false
        case .auto:
            let env = ProcessEnv.get("NO_COLOR")
            return stdoutIsTerminal && (env == nil || env == "") && ProcessEnv.get("TERM") != "dumb"
        }
    }

    /// The width to fit: the terminal's on a terminal, $COLUMNS when set, else unlimited.
    static var width: Int? {
        if stdoutIsTerminal {
            var ws = winsize()
            if ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 { return Int(ws.ws_col) }
        }
        if let c = ProcessEnv.get("COLUMNS").flatMap(Int.init), c > 0 { return c }
        return stdoutIsTerminal ? 80 : nil
    }
}

enum ProcessEnv {
    static func get(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}

/// Keeps large results alive until the process exits, so that the end of `run()` does not spend time
/// freeing tens of thousands of objects one by one (measurable with 40,000 objects); the kernel takes the
/// memory back at exit anyway.
func retainUntilExit(_ values: Any...) {
    ProcessLifetime.kept.append(values)
}

enum ProcessLifetime {
    /// `nonisolated(unsafe)`: appended to by the command's `run()` on the main thread only, never read (it only
    /// keeps values alive until the process exits).
    nonisolated(unsafe) static var kept: [Any] = []
}

/// Warnings go to standard error, one line each, prefixed with the tool's name. A warning names objects, paths
/// and processes other users chose: it is escaped here, where it leaves.
func warn(_ message: String) {
    writeStandardError("ipcsweep: warning: \(TextEscape.escaped(message))\n")
}

/// Writes text for people to standard output, through the one output sink (a failed write ends the run: see
/// `OutputSink`). Only `SafeText` (its values escaped) is written this way.
func emit(_ text: SafeText) {
    OutputSink.standardOutput.write(text.text)
}

/// write(2) to standard error until everything is out (EINTR retried); errors are ignored (there is nowhere
/// left to report them).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { raw in
        guard let base = raw.baseAddress else { return }
        var offset = 0
        while offset < raw.count {
            let n = write(2, base + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += n
        }
    }
}

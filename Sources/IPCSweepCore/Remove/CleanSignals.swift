import CSysVIPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SIGINT, SIGTERM and SIGHUP recorded instead of acted on, so that `clean` stops between objects.
public enum CleanSignals {
    /// sigaction(SA_SIGINFO) for SIGINT, SIGTERM and SIGHUP through the C shim (the handler only records the
    /// signal and its sender); SIGPIPE is ignored so a closed output never stops a removal half-way.
    public static func install() {
        for s in [SIGINT, SIGTERM, SIGHUP] { _ = cipc_record_signal(s) }
        signal(SIGPIPE, SIG_IGN)
    }

    /// The first recorded signal and its sender (cipc_pending_signal), or nil.
    public static func pending() -> PendingSignal? {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        let s = cipc_pending_signal(&pid, &uid)
        return s == 0 ? nil : PendingSignal(signo: s, senderPid: pid, senderUid: uid)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The audit trail in syslog/the journal: one line per removal and per failure, from any worker of the pass.
/// Every line is escaped where it leaves (`note`): it carries names other users chose.
public final class CleanSyslog: Sendable {
    private let users: UserDirectory
    /// openlog keeps the pointer it is given: the ident must outlive every syslog call. `nonisolated(unsafe)`: a
    /// pointer to bytes written once, when it is made, and only read after (by syslog(3), from any thread).
    nonisolated(unsafe) private static let ident: UnsafeMutablePointer<CChar>? = strdup("ipcsweep")

    /// openlog(Self.ident, LOG_PID, LOG_AUTHPRIV): removals are security-relevant and land in the journal
    /// (and in /var/log/auth.log on Debian).
    public init(users: UserDirectory) {
        self.users = users
        // Without /dev/log (no syslog daemon or journald, e.g. a container) nothing can be delivered, and glibc
        // would try socket()+connect() again for every message: skip the messages instead.
        deliverable = access("/dev/log", F_OK) == 0
        openlog(Self.ident, LOG_PID, LOG_AUTHPRIV)
    }

    /// Whether /dev/log existed when the run started.
    private let deliverable: Bool

    deinit { closelog() }

    /// The message for one result of any kind: what happened, the object (System V: id, key, owner, creator,
    /// perms; POSIX: path, inode, size, owner, group, mode), verdict and reasons. Pure (not yet escaped).
    public static func message(_ r: CleanResult, users: UserDirectory) -> String {
        let o = r.classification.object
        let what = r.outcome == .removed ? "removed" : "failed to remove"
        let ns = r.classification.namespace.map { " in IPC namespace \($0.inode) (\($0.owner))" } ?? ""
        let object: String
        if let x = o.posix {
            object = "\(x.path) inode \(x.identity.inode) size \(x.size) owner \(users.displayUser(x.uid)) (uid \(x.uid)) group \(x.gid) mode \(IPCTextFormat.octal(x.mode))"
        } else {
            let p = o.perm
            object = "id \(o.id) key \(IPCTextFormat.hexKey(p.key)) owner \(users.displayUser(p.uid)) (uid \(p.uid)) creator \(users.displayUser(p.cuid)) (uid \(p.cuid)) perms \(IPCTextFormat.octal(p.permissionBits))\(IPCTextFormat.status(p.mode).isEmpty ? "" : " status \(IPCTextFormat.status(p.mode))")"
        }
        return "\(what) \(o.kind.noun)\(ns) \(object) verdict \(r.classification.verdict.rawValue): \(r.reason); evidence: \(r.classification.reasons.joined(separator: "; "))"
    }

    /// syslog(3) (through vsyslog with "%s"): LOG_NOTICE for removals, LOG_ERR for failures.
    public func log(_ r: CleanResult) {
        // Not even worded when it cannot be delivered: the message was a third of the instructions of a clean
        // of 32,000 sets.
        guard deliverable else { return }
        note(Self.message(r, users: users), error: r.outcome != .removed)
    }

    /// One line of the run's own (not about one object): LOG_ERR with `error`, else LOG_NOTICE. The line is
    /// escaped here, where it leaves for the journal.
    public func note(_ text: String, error: Bool) {
        guard deliverable else { return }
        let priority = error ? LOG_ERR : LOG_NOTICE
        TextEscape.escaped(text).withCString { msg in
            withVaList([msg]) { vsyslog(priority, "%s", $0) }
        }
    }

    /// What clean says (stderr and journal) when its report could not be written after it removed objects. Pure.
    public static func lostReportMessage(_ run: CleanRun, _ failure: OutputFailure) -> String {
        let c = run.counts
        let removed = "\(c.removed) object\(c.removed == 1 ? "" : "s")"
        return "clean removed \(removed) (each removal is in the journal)\(c.failed > 0 ? ", \(c.failed) failed" : "") but could not write its report: \(failure.description)"
    }
}

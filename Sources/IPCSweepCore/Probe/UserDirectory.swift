
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// User and group names through getpwuid_r/getgrgid_r/getpwnam_r, cached per id. Shared by clean's workers (the
/// journal's lines name owners): the caches are behind a lock (`Locked`), so the compiler checks that sharing.
public final class UserDirectory: Sendable {
    private struct Names {
        var users: [UInt32: String?] = [:]
        var groups: [UInt32: String?] = [:]
    }
    private let names = Locked(Names())

    public init() {}

    /// The login name of a uid, or nil when it has no passwd entry.
    public func userName(_ uid: UInt32) -> String? {
        if let cached = names.withLock({ $0.users[uid] }) { return cached }
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 4096)
        let name: String? = getpwuid_r(uid, &pwd, &buf, buf.count, &result) == 0 && result != nil
            ? String(cString: pwd.pw_name) : nil
        names.withLock { $0.users[uid] = .some(name) }
        return name
    }

    /// The name of a gid, or nil when it has no group entry.
    public func groupName(_ gid: UInt32) -> String? {
        if let cached = names.withLock({ $0.groups[gid] }) { return cached }
        var grp = group()
        var result: UnsafeMutablePointer<group>?
        var buf = [CChar](repeating: 0, count: 8192)
        let name: String? = getgrgid_r(gid, &grp, &buf, buf.count, &result) == 0 && result != nil
            ? String(cString: grp.gr_name) : nil
        names.withLock { $0.groups[gid] = .some(name) }
        return name
    }

    /// A uid from a name or a number; nil when neither.
    public func uid(forUser text: String) -> UInt32? {
        if let n = UInt32(text) { return n }
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buf = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(text, &pwd, &buf, buf.count, &result) == 0, result != nil else { return nil }
        return pwd.pw_uid
    }

    /// The name, or the number when there is no entry.
    public func displayUser(_ uid: UInt32) -> String { userName(uid) ?? String(uid) }
    public func displayGroup(_ gid: UInt32) -> String { groupName(gid) ?? String(gid) }
}

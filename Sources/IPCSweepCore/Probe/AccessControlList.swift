import CACL
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the POSIX access ACL of a file with libacl (acl_get_file, ACL_TYPE_ACCESS; acl_get_fd on a descriptor).
public enum AccessControlList {
    /// The entries of the file's access ACL when it has more than the three base entries (user_obj, group_obj, other);
    /// nil when it has only those, or when the filesystem keeps no ACLs (ENOTSUP, as on mqueue).
    public static func read(_ path: String) -> Result<[ACLEntry]?, Errno> {
        entries(acl_get_file(path, acl_type_t(ACL_TYPE_ACCESS)))
    }

    /// `read` of the file open as `fd` (its access ACL).
    public static func read(fd: Int32) -> Result<[ACLEntry]?, Errno> {
        entries(acl_get_fd(fd))
    }

    private static func entries(_ got: acl_t?) -> Result<[ACLEntry]?, Errno> {
        guard let acl = got else {
            let e = Errno(rawValue: errno)
            return e == .notSupported || e == .noData ? .success(nil) : .failure(e)
        }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        // 0: equivalent to the mode bits (no named entries, no mask).
        if acl_equiv_mode(acl, nil) == 0 { return .success(nil) }
        var out: [ACLEntry] = []
        var entry: acl_entry_t?
        var which = Int32(ACL_FIRST_ENTRY)
        while acl_get_entry(acl, which, &entry) == 1, let e = entry {
            which = Int32(ACL_NEXT_ENTRY)
            var tagType = acl_tag_t(0)
            guard acl_get_tag_type(e, &tagType) == 0 else { continue }
            var permset: acl_permset_t?
            guard acl_get_permset(e, &permset) == 0, let ps = permset else { continue }
            var perms: UInt32 = 0
            if acl_get_perm(ps, acl_perm_t(ACL_READ)) == 1 { perms |= 4 }
            if acl_get_perm(ps, acl_perm_t(ACL_WRITE)) == 1 { perms |= 2 }
            if acl_get_perm(ps, acl_perm_t(ACL_EXECUTE)) == 1 { perms |= 1 }
            let tag: ACLEntry.Tag
            var qualifier: UInt32?
            switch tagType {
            case acl_tag_t(ACL_USER_OBJ): tag = .userObj
            case acl_tag_t(ACL_GROUP_OBJ): tag = .groupObj
            case acl_tag_t(ACL_MASK): tag = .mask
            case acl_tag_t(ACL_OTHER): tag = .other
            case acl_tag_t(ACL_USER), acl_tag_t(ACL_GROUP):
                tag = tagType == acl_tag_t(ACL_USER) ? .user : .group
                if let q = acl_get_qualifier(e) {
                    qualifier = q.load(as: UInt32.self)
                    acl_free(q)
                }
            default: continue
            }
            out.append(ACLEntry(tag: tag, qualifier: qualifier, perms: perms))
        }
        return .success(out)
    }
}

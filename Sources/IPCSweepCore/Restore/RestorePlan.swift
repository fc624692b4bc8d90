import SystemPackage

/// A `restore` that could not be done, naming the save file and saying what to do.
public struct RestoreError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public var description: String { "restore \(path): \(reason)" }
}

/// A save file read and checked, ready to be re-created.
public struct RestorePlan: Sendable, Equatable {
    public var path: String
    /// Its header (no content: the content is streamed from the file again when it is restored).
    public var file: SaveFile
    /// What the checking read found (counts, sizes, the content checksum).
    public var summary: SaveSummary
    /// The kind saved: msg or shm, or a POSIX kind (then `key` and `savedId` are unused).
    public var kind: IPCKind
    /// The saved key (0: IPC_PRIVATE) and id.
    public var key: Int32
    public var savedId: Int32?
    public var uid: UInt32?
    public var gid: UInt32?
    /// The permission bits (mode & 0777).
    public var mode: UInt32
    /// A queue's saved capacity (msg_qbytes), when the file has it.
    public var qbytes: UInt64?
    /// Total message bytes (msg) or the logical size (shm and POSIX files).
    public var bytes: Int
    /// A POSIX object's directory entry: the file name in the shm mount, or the queue's name without "/".
    public var entry: String? = nil
    /// A POSIX queue's saved mq_maxmsg and mq_msgsize.
    public var mqAttr: (maxmsg: Int, msgsize: Int)? = nil

    public static func == (a: RestorePlan, b: RestorePlan) -> Bool {
        a.path == b.path && a.file == b.file && a.summary == b.summary && a.kind == b.kind && a.entry == b.entry
    }
}

/// What `restore` re-created.
public struct RestoredObject: Sendable, Equatable {
    public var path: String
    public var kind: IPCKind
    public var id: Int32
    public var key: Int32
    public var savedId: Int32?
    public var savedKey: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var mode: UInt32
    /// Messages re-sent (msg).
    public var messages: Int
    /// Message bytes (msg) or the logical size (shm, POSIX files).
    public var bytes: Int
    /// What differs from the saved object and why (key taken, owner kept, ...).
    public var notes: [String]
    /// A POSIX object's name and the path it was re-created at (then `id` and `key` are unused).
    public var name: String? = nil
    public var createdPath: String? = nil
    /// Bytes of data written (the rest of `bytes` are holes), for segments and files.
    public var dataBytes: Int? = nil
}

import SystemPackage

/// What truly differs per family in `clean`, and nothing more: how an object is read again (the re-check), how
/// its data are saved, the removal call, and the words for an errno. The pipeline (`CleanPipeline`) does the
/// rest the same way for every kind: compare with the plan, decide again from the fresh read, save before
/// anything irreversible, remove, report.
public protocol RemovalBackend: Sendable {
    /// The re-check: one fresh, whole read of the object the plan read (`planned`), kept in hand until its
    /// removal (a POSIX object's root directory stays open meanwhile).
    func readFresh(_ planned: IPCObject) -> FreshRead
    /// Whether `--save-to` saves this object's data (a System V queue with messages, a segment, a POSIX file or
    /// queue); a semaphore set has none.
    func saves(_ o: IPCObject) -> Bool
    /// The name of its save file in the `--save-to` directory.
    func saveFileName(_ o: IPCObject) -> String
    /// Whether an errno of a step means the object is gone (removed by someone else).
    func meansGone(_ e: Errno) -> Bool
    /// The words for a permission errno of `step` ("IPC_RMID", "unlinkat", "IPC_STAT", ...), naming the object and
    /// saying what to do.
    func permissionText(_ e: Errno, during step: String, _ o: IPCObject) -> String
}

/// The outcome of a fresh read.
public enum FreshRead {
    /// The object as it is now, in hand.
    case read(any CandidateInHand)
    /// It is not the planned object any more (a symbolic link or another filesystem in its place), in words.
    case changed([String])
    /// A call failed: `step` names it (ENOENT/EINVAL/EIDRM: gone).
    case failed(Errno, during: String)
}

/// One object between its fresh read and its removal, on one worker: the backend's state for it (a directory
/// descriptor, an attachment), its save and its removal call.
public protocol CandidateInHand: AnyObject {
    /// The fresh read.
    var fresh: IPCObject { get }
    /// Saves its data into a file in `directory` through `saver` (streamed, checked against the free space,
    /// committed — fsynced and linked into place — before this returns `.saved`); nothing irreversible happens to
    /// the object unless the save is complete. A queue whose messages had to be received to save them gets them
    /// back when the save fails.
    func save(to directory: String, with saver: ObjectSaver) -> SaveStep
    /// The removal call. After a save that took something from the object (a drained queue), a failed removal
    /// puts it back (the save file stays, and the note says where).
    func remove() -> RemoveStep
    /// Lets go of what was held (descriptors, an attachment).
    func release()
}

/// What a save did.
public enum SaveStep: Sendable {
    /// Saved to `path`; `detail` says what ("3 messages (120 bytes)", "4096 bytes").
    case saved(path: String, detail: String)
    /// It changed while being saved: nothing was removed, no save file was left.
    case changed([String], stage: String)
    /// A call on the object failed.
    case failed(Errno, during: String)
    /// The save file could not be written: the object was kept (and, for a drained queue, refilled).
    case notWritten(String)
}

/// What a removal call did.
public enum RemoveStep: Sendable {
    case removed
    /// Removed, with something the user must know (a process opened it at the very moment its name went).
    case removedWithNote(String)
    /// A process opened it while it was being removed (its write lease broke): its name is still there (put
    /// back, or never taken), in words.
    case openedDuringRemoval(String)
    /// Its name is no longer the object read (another file took it): nothing was removed.
    case changed([String])
    /// The call failed; `note` says what was done about a save that preceded it.
    case failed(Errno, during: String, note: String?)
}

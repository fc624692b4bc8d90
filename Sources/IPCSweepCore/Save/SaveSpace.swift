#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A save that does not fit in the free space of its directory (statvfs), with what it needed.
public struct SpaceShortage: Sendable, Equatable, CustomStringConvertible {
    public var directory: String
    /// Bytes of data the object holds (its data extents; a queue's messages).
    public var dataBytes: Int64
    /// Bytes the save file needs (data and records).
    public var needed: Int64
    /// Bytes free for this user (f_bavail × f_frsize), less what saves in progress have reserved.
    public var free: Int64
    /// What is kept free.
    public var margin: Int64

    public var description: String {
        "not enough space in \(directory): its \(SaveSpace.text(dataBytes)) of data need a save file of \(SaveSpace.text(needed)), the file system has \(SaveSpace.text(free)) free and keeps \(SaveSpace.text(margin)) free; kept (free some space there, or give --save-to a directory with more)"
    }
}

/// The free-space rule for saves: a save starts only when its file fits in what the directory's file system
/// has free for this user (statvfs f_bavail, so the blocks reserved for root are never counted) with a margin
/// left over; saves running at the same time reserve their size from the same free space.
public final class SaveSpace: Sendable {
    /// Bytes reserved by the saves in progress.
    private let reserved = Locked(Int64(0))

    public init() {}

    /// What a save leaves free: 1 % of the file system, at least 1 MiB, at most 64 MiB.
    public static func margin(filesystemBytes: Int64) -> Int64 { min(max(1 << 20, filesystemBytes / 100), 64 << 20) }

    /// The save file's size beyond its data: the header, the trailer, and an extent and a hole record per extent.
    public static func overhead(extents: Int) -> Int64 { 8192 + Int64(extents) * 2 * 64 }

    /// "300 MiB (314572800 bytes)"
    public static func text(_ bytes: Int64) -> String {
        bytes < 1024 ? "\(bytes) bytes" : "\(PosixAuditSection.size(bytes)) (\(bytes) bytes)"
    }

    /// "8589934592 bytes (4.0 KiB (4096 bytes) of data in 1 extent)": what a save of a segment or file holds.
    public static func dataText(_ f: SavedFile) -> String {
        "\(f.size) bytes (\(text(f.dataBytes)) of data in \(f.extents) extent\(f.extents == 1 ? "" : "s"))"
    }

    /// Reserves `needed` bytes when they fit; the shortage otherwise. `release` gives the reservation back.
    public func reserve(_ needed: Int64, dataBytes: Int64, directory: String, vfs: statvfs) -> SpaceShortage? {
        let unit = Int64(vfs.f_frsize > 0 ? vfs.f_frsize : vfs.f_bsize)
        let total = Int64(clamping: UInt64(vfs.f_blocks)) &* unit
        let margin = Self.margin(filesystemBytes: total)
        let available = Int64(clamping: UInt64(vfs.f_bavail)) &* unit
        return reserved.withLock { reserved -> SpaceShortage? in
            let free = max(0, available - reserved)
            guard needed <= free - margin else {
                return SpaceShortage(directory: directory, dataBytes: dataBytes, needed: needed, free: free, margin: margin)
            }
            reserved += needed
            return nil
        }
    }

    public func release(_ bytes: Int64) {
        reserved.withLock { $0 -= bytes }
    }
}

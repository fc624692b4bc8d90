import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A segment's data while it is attached for saving: its shmem file when the kernel lets us open it, or its
/// mapping when reading that allocates nothing. Close it when done.
public final class SegmentData {
    public let source: any SaveDataSource
    private let fd: Int32

    init(source: any SaveDataSource, fd: Int32) {
        self.source = source
        self.fd = fd
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The most that reading a mapping may allocate (its holes): reading a hole of shared memory through a
    /// mapping allocates a page for it.
    public static let mappingHoleAllowance: UInt64 = 1 << 20

    /// The data of segment `segment`, attached (read-only) at `mapping`.
    ///
    /// First choice: its shmem file, opened read-only through /proc/self/map_files/START-END (the attach's
    /// entry): pread of a hole returns zeros without allocating it and lseek(SEEK_DATA/SEEK_HOLE) skips holes, so
    /// nothing is made resident but the pages that hold data. Opening it needs CAP_SYS_ADMIN (or
    /// CAP_CHECKPOINT_RESTORE). Without it, the mapping is read only when its holes are negligible: `usage`
    /// (rss + swap from /proc/sysvipc/shm, read in the segment's namespace) leaves at most
    /// `mappingHoleAllowance` bytes of holes; otherwise the save fails with the reason (saving it would make its
    /// holes resident).
    public static func open(segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer,
                            usage: () -> (rss: UInt64, swap: UInt64)? = { nil }) -> Result<SegmentData, SaveFailure> {
        guard mapping.baseAddress != nil else { return .failure(.read("segment id \(segment.id) has no mapping")) }
        let page = UInt(max(sysconf(Int32(_SC_PAGESIZE)), 4096))
        let (fd, path) = shmemFile(mapping: mapping, flags: O_RDONLY)
        if fd >= 0 {
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int64(st.st_size) >= Int64(mapping.count) else {
                close(fd)
                return .failure(.read("the shmem file of segment id \(segment.id) (\(path)) is not the segment's (size \(st.st_size), expected \(mapping.count))"))
            }
            return .success(SegmentData(source: FileDataSource(fd: fd, size: Int64(mapping.count), description: "its shmem file"), fd: fd))
        }
        let e = Errno(rawValue: errno)
        let size = UInt64(mapping.count)
        let rounded = (size + UInt64(page) - 1) / UInt64(page) * UInt64(page)
        if let u = usage(), u.rss &+ u.swap &+ mappingHoleAllowance >= rounded {
            return .success(SegmentData(source: MemoryDataSource(bytes: mapping, description: "its mapping"), fd: -1))
        }
        let used = usage().map { " (\(SaveSpace.text(Int64($0.rss + $0.swap))) of its \(SaveSpace.text(Int64(size))) hold data)" } ?? ""
        return .failure(.read("cannot open its shmem file (\(path): \(e); that needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), and reading it through its mapping would make its holes resident\(used); run clean as root to save it"))
    }

    /// Opens the shmem file behind an attach (`/proc/self/map_files/START-END` of the mapping), with `flags`
    /// (O_RDONLY to save, O_RDWR to restore); the descriptor (or -1 with errno) and the path.
    public static func shmemFile(mapping: UnsafeRawBufferPointer, flags: Int32) -> (Int32, String) {
        let start = UInt(bitPattern: mapping.baseAddress)
        let page = UInt(max(sysconf(Int32(_SC_PAGESIZE)), 4096))
        let end = start + (UInt(mapping.count) + page - 1) / page * page
        let path = "/proc/self/map_files/\(String(start, radix: 16))-\(String(end, radix: 16))"
        return (Glibc.open(path, flags | O_CLOEXEC), path)
    }

    /// rss and swap of segment `id` from /proc/sysvipc/shm, read by the calling thread (so in its IPC namespace).
    public static func usage(ofSegment id: Int32) -> (rss: UInt64, swap: UInt64)? {
        guard let bytes = try? FileIO.read("/proc/sysvipc/shm", limit: FileIO.Limit.procfs, requireRegular: false) else { return nil }
        var warnings: [String] = []
        guard let s = (try? SysVIPCProcParser.parseSegments(bytes, warnings: &warnings))?.first(where: { $0.id == id }),
              let rss = s.rss, let swap = s.swap else { return nil }
        return (rss, swap)
    }
}

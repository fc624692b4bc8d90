/// The memory segments really use: SHM_STAT has no rss or swap, /proc/sysvipc/shm has both (Linux 2.6.37+).
extension IPCProbe {
    /// Fills each segment's rss and swap from /proc/sysvipc/shm (read by this thread, so in the namespace being
    /// read), matched by id; leaves them nil when the file cannot be read or has no such columns.
    func addSegmentUsage(_ segments: inout [SharedMemorySegment]) {
        guard isLive, !segments.isEmpty,
              let bytes = try? FileIO.read("\(procRoot)/sysvipc/shm", limit: FileIO.Limit.procfs, requireRegular: false) else { return }
        var warnings: [String] = []
        guard let rows = try? SysVIPCProcParser.parseSegments(bytes, warnings: &warnings) else { return }
        var usage: [Int32: (UInt64?, UInt64?)] = [:]
        usage.reserveCapacity(rows.count)
        for r in rows { usage[r.id] = (r.rss, r.swap) }
        for i in segments.indices {
            guard let u = usage[segments[i].id] else { continue }
            segments[i].rss = u.0
            segments[i].swap = u.1
        }
    }
}

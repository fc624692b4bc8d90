/// The memory segments really use: SHM_STAT has no rss or swap, /proc/sysvipc/shm has both (Linux 2.6.37+).
extension IPCProbe {
    /// Fills each segment's rss and swap from /proc/sysvipc/shm (read by this thread, so in the namespace being
    /// read), matched by id; leaves them nil when the file cannot be read or has no such columns.
    func addSegmentUsage(_ segments: inout [SharedMemorySegment]) {
        guard isLive, !segments.isEmpty,
              let bytes = try? FileIO.read("\(procRoot)/sysvipc/shm", limit: FileIO.Limit.procfs, requireRegular: false) else { return }
        let usage = Self.segmentUsage(bytes)
        guard !usage.isEmpty else { return }
        for i in segments.indices {
            guard let u = usage[segments[i].id] else { continue }
            segments[i].rss = u.rss
            segments[i].swap = u.swap
        }
    }

    /// shmid -> (rss, swap) from the bytes of /proc/sysvipc/shm: only those three columns, found by the header's
    /// names, fields split on whitespace (the kernel's widths are minimums). Lines that do not parse are left out.
    /// Pure.
    static func segmentUsage(_ bytes: [UInt8]) -> [Int32: (rss: UInt64, swap: UInt64)] {
        var lines = bytes.split(separator: 10, omittingEmptySubsequences: true)[...]
        guard let header = lines.popFirst() else { return [:] }
        let names = header.split(whereSeparator: { $0 == 32 || $0 == 9 }).map { String(decoding: $0, as: UTF8.self) }
        guard let idCol = names.firstIndex(of: "shmid"), let rssCol = names.firstIndex(of: "rss"),
              let swapCol = names.firstIndex(of: "swap") else { return [:] }
        let need = max(idCol, rssCol, swapCol)
        var out: [Int32: (rss: UInt64, swap: UInt64)] = [:]
        out.reserveCapacity(lines.count)
        for line in lines {
            var field = 0
            var id: Int64?, rss: UInt64?, swap: UInt64?
            var value: UInt64 = 0
            var inField = false
            var digits = true
            func end() {
                if digits {
                    if field == idCol { id = Int64(exactly: value) }
                    if field == rssCol { rss = value }
                    if field == swapCol { swap = value }
                }
                field += 1
                value = 0
                digits = true
            }
            for b in line {
                if b == 32 || b == 9 {
                    if inField { end(); inField = false }
                    if field > need { break }
                    continue
                }
                inField = true
                if b >= 48 && b <= 57, value <= (UInt64.max - 9) / 10 { value = value * 10 + UInt64(b - 48) } else { digits = false }
            }
            if inField { end() }
            if let id, let i = Int32(exactly: id), let rss, let swap { out[i] = (rss, swap) }
        }
        return out
    }
}

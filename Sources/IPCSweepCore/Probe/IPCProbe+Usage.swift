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
        // One pass over the bytes, line by line, field by field: splitting the file into lines and the lines into
        // fields first cost about 9,000 instructions a segment (the file is some 200 bytes a line).
        bytes.withUnsafeBufferPointer { b -> [Int32: (rss: UInt64, swap: UInt64)] in
            let n = b.count
            var i = 0
            // The header: the first line that is not empty.
            while i < n && b[i] == 10 { i += 1 }
            var idCol = -1, rssCol = -1, swapCol = -1
            var column = 0
            while i < n && b[i] != 10 {
                if b[i] == 32 || b[i] == 9 {
                    i += 1
                    continue
                }
                let start = i
                while i < n && b[i] != 10 && b[i] != 32 && b[i] != 9 { i += 1 }
                let name = UnsafeBufferPointer(rebasing: b[start..<i])
                if name.elementsEqual("shmid".utf8) { idCol = column }
                if name.elementsEqual("rss".utf8) { rssCol = column }
                if name.elementsEqual("swap".utf8) { swapCol = column }
                column += 1
            }
            guard idCol >= 0, rssCol >= 0, swapCol >= 0 else { return [:] }
            let need = max(idCol, rssCol, swapCol)
            var out: [Int32: (rss: UInt64, swap: UInt64)] = [:]
            out.reserveCapacity(n / 128)
            while i < n {
                // One line: fields separated by blanks, each a number only when every byte is a digit.
                var field = 0
                var id: UInt64?, rss: UInt64?, swap: UInt64?
                while i < n && b[i] != 10 && field <= need {
                    if b[i] == 32 || b[i] == 9 {
                        i += 1
                        continue
                    }
                    let start = i
                    while i < n && b[i] != 10 && b[i] != 32 && b[i] != 9 { i += 1 }
                    if field == idCol || field == rssCol || field == swapCol {
                        let value = UnsafeBufferPointer(rebasing: b[start..<i]).decimalValue
                        if field == idCol { id = value }
                        if field == rssCol { rss = value }
                        if field == swapCol { swap = value }
                    }
                    field += 1
                }
                i = b.lineEnd(from: i) + 1  // past the rest of the line
                if let id, let k = Int32(exactly: id), let rss, let swap { out[k] = (rss, swap) }
            }
            return out
        }
    }
}

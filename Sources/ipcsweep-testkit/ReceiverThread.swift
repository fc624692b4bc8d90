#if canImport(Glibc)
import Glibc
#endif

/// Starts a thread that blocks in msgrcv on the queue forever, so that a message sent to it is
/// handed straight to a waiting thread and msg_lrpid records that thread's id.
func startReceiverThread(queue id: Int32) {
    var thread = pthread_t()
    let box = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    box.pointee = id
    _ = pthread_create(&thread, nil, receiverBody, box)
}

private func receiverBody(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let arg else { return nil }
    let id = arg.assumingMemoryBound(to: Int32.self).pointee
    var buf = [UInt8](repeating: 0, count: 8192)
    while true { _ = msgrcv(id, &buf, 8192 - MemoryLayout<Int>.size, 0, 0) }
}

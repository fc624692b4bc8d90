import CSysVIPC
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value behind a `Synchronization.Mutex`: the one lock of the program. `Sendable` because the mutex is, so the
/// compiler checks every sharing of what it guards.
///
/// ThreadSanitizer does not see the mutex on Linux (it parks on a raw futex, in a library that is not
/// instrumented), so every section tells it about the lock: acquire after locking, release before unlocking. Without
/// that, a `--sanitize=thread` build reports every access to a guarded value as a race.
public final class Locked<Value>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: sending Value) { mutex = Mutex(value) }

    public func withLock<Result>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result {
        try mutex.withLock { value in
            let address = Unmanaged.passUnretained(self).toOpaque()
            cipc_tsan_acquire(address)
            defer { cipc_tsan_release(address) }
            return try body(&value)
        }
    }

    /// `withLock` when the lock is free now; nil (and `body` not run) when another thread holds it.
    public func withLockIfAvailable<Result>(_ body: (inout sending Value) throws -> sending Result) rethrows -> sending Result? {
        try mutex.withLockIfAvailable { value in
            let address = Unmanaged.passUnretained(self).toOpaque()
            cipc_tsan_acquire(address)
            defer { cipc_tsan_release(address) }
            return try body(&value)
        }
    }
}

/// A buffer written at distinct indexes by concurrent workers (`DispatchQueue.concurrentPerform`), each index by
/// exactly one of them, and read only after they all returned.
///
/// `@unchecked Sendable`: the compiler cannot see that the workers' index ranges are disjoint; every use writes
/// `buffer[i]` only for the `i` of its own chunk, and the owner reads the buffer after `concurrentPerform`
/// returned (which orders the writes before the reads).
struct UnsafeSendableBuffer<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}

/// A value handed to concurrent workers that the compiler cannot check: each of its parts is used by one worker
/// only (every use says which), and the owner uses it again only after the workers returned.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Work that must run exactly once, from whichever thread gets to it first.
final class OnceWork<Argument>: Sendable {
    private let work: @Sendable (Argument) -> Void
    private let done = Locked(false)

    init(_ work: @escaping @Sendable (Argument) -> Void) { self.work = work }

    /// Runs the work with `argument`, unless it ran already.
    func run(_ argument: Argument) {
        let first = done.withLock { done in
            defer { done = true }
            return !done
        }
        if first { work(argument) }
    }
}

/// A value one thread sets and another reads after a synchronisation point (a semaphore, a group), behind a
/// mutex so that the compiler checks the sharing.
final class SharedSlot<Value: Sendable>: Sendable {
    private let slot: Locked<Value>

    init(_ value: Value) { slot = Locked(value) }

    var value: Value {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}

/// Work over many independent items spread over the CPUs: the items in contiguous chunks (two per CPU, so that
/// a slow chunk does not leave a CPU idle), each chunk with its own `State` (a pass's caches, a read buffer: not
/// shared between threads), the results in the items' order. Fewer than `serialBelow` items run on the calling
/// thread in one chunk: a small system (every `ExecStopPost=` and cron run) starts no thread for it. One CPU
/// still gets two chunks, run one after the other: the same partition on every machine.
enum Parallel {
    /// The CPUs online (at most 8: the work is memory-bound beyond that).
    static let workers = min(8, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    /// Below this many items the work stays on the calling thread.
    static let serialBelow = 2048

    /// `body(state, i)` for every `i` in `0..<count`, each `i` once, the chunks on several threads.
    static func forEach<State>(_ count: Int, serialBelow: Int = Parallel.serialBelow, state makeState: @Sendable () -> State,
                               _ body: @Sendable (State, Int) -> Void) {
        let chunks = count < serialBelow ? 1 : min(count, workers * 2)
        let size = max(1, (count + chunks - 1) / chunks)
        @Sendable func work(_ c: Int) {
            let lower = c * size, upper = min(count, lower + size)
            guard lower < upper else { return }
            let state = makeState()
            for i in lower..<upper { body(state, i) }
        }
        if chunks == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: work) }
    }

    /// `body(state, i)` for every `i` in `0..<count`, in order.
    static func map<State, T>(_ count: Int, serialBelow: Int = Parallel.serialBelow, state makeState: @Sendable () -> State,
                              _ body: @Sendable (State, Int) -> T) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let out = UnsafeSendableBuffer(buffer)
            forEach(count, serialBelow: serialBelow, state: makeState) { state, i in
                (out.buffer.baseAddress! + i).initialize(to: body(state, i))
            }
            initialized = count
        }
    }
}

import Foundation
import XCTest

/// `--namespace` and `--all-namespaces` against two "containers" (`unshare --ipc --pid --mount --fork`) nested in
/// the scenario's own private IPC namespace, which plays the host: the real host's IPC namespace is never touched.
/// Each container sits in a cgroup of its own under the name=systemd hierarchy (a `docker-ID.scope` and a
/// `libpod-ID.scope`, as Docker and Podman make them) and has a held set and an orphan.
final class NamespaceScenarioTests: XCTestCase {
    static var cgroupRoot: String { "/sys/fs/cgroup/systemd" }

    /// Starts containers A (docker) and B (libpod), each with: a set of uid 33 held by a live process (SEM_UNDO)
    /// and an orphaned set of uid 34; the host-like namespace gets the same pair. `$PA`/`$PB` are pids in the
    /// containers (host pids), `$NSA`/`$NSB` their namespace links, `$HA`/`$HB` the holders' host pids.
    static func prelude(_ id: String) -> String {
        """
        mount -t tmpfs tmpfs /run
        \(slice("ipcsweep-nstest-\(id)", id))
        container() {  # NAME CGROUP KEYBASE
            sh -c "echo \\$\\$ > $2/cgroup.procs; exec unshare --ipc --pid --mount --fork bash -c '
                H=\\$(ipcsweep-testkit sem-create --key ${3}1 --as-uid 33)
                ipcsweep-testkit sem-op --id \\$H --undo --hold &
                ipcsweep-testkit sem-create --key ${3}2 --as-uid 34 > /dev/null
                sleep 0.2
                touch $OUT/ready-$1
                exec sleep 300'" &
        }
        container a $SLICE/docker-a\(id).scope 0xa00
        PA=$!
        container b $SLICE/libpod-b\(id).scope 0xb00
        PB=$!
        H=$(ipcsweep-testkit sem-create --key 0xc001 --as-uid 33)
        ipcsweep-testkit sem-op --id $H --undo --hold &
        ipcsweep-testkit sem-create --key 0xc002 --as-uid 34 > /dev/null
        for i in $(seq 1 100); do [ -e $OUT/ready-a ] && [ -e $OUT/ready-b ] && break; sleep 0.05; done
        NSA=$(readlink /proc/$PA/ns/ipc)
        NSB=$(readlink /proc/$PB/ns/ipc)
        holder() {  # the host pid of the testkit process in namespace $1
            for p in /proc/[0-9]*; do
                if [ "$(readlink $p/ns/ipc 2>/dev/null)" = "$1" ] && [ "$(cat $p/comm 2>/dev/null)" = ipcsweep-testki ]; then
                    echo ${p#/proc/}
                fi
            done
        }
        HA=$(holder $NSA)
        HB=$(holder $NSB)
        echo "$NSA" > $OUT/nsa; echo "$NSB" > $OUT/nsb; echo $HA > $OUT/ha; echo $HB > $OUT/hb

        """
    }

    /// `$SLICE`, a name=systemd slice with a docker-a`ID`.scope and a libpod-b`ID`.scope, emptied (SIGKILL) and
    /// removed when the script exits.
    static func slice(_ name: String, _ id: String) -> String {
        """
        SLICE=\(cgroupRoot)/\(name).slice
        mkdir -p $SLICE/docker-a\(id).scope $SLICE/libpod-b\(id).scope
        cleanup() {
            for cg in $SLICE/*.scope; do
                for p in $(cat $cg/cgroup.procs 2>/dev/null); do kill -9 $p 2>/dev/null || true; done
            done
            sleep 0.3
            rmdir $SLICE/*.scope $SLICE 2>/dev/null || true
        }
        trap cleanup EXIT
        """
    }

    func run(_ script: String, allowFailure: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "\(Self.cgroupRoot)/cgroup.procs"),
                          "needs the cgroup v1 name=systemd hierarchy")
        return try Scenario.run(Self.prelude(String(getpid())) + script, allowFailure: allowFailure, file: file, line: line)
    }

    /// "ipc:[4026532283]" -> 4026532283
    func inode(_ s: Scenario, _ name: String) throws -> Int {
        let t = try s.file(name)
        return Int(t.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }) ?? -1
    }

    func pid(_ s: Scenario, _ name: String) throws -> Int {
        Int(try s.file(name).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// The objects of a list document as [namespace inode: [key: object]].
    func byNamespace(_ s: Scenario, _ name: String) throws -> [Int: [Int: [String: Any]]] {
        var out: [Int: [Int: [String: Any]]] = [:]
        for o in try s.json(name)["objects"] as? [[String: Any]] ?? [] {
            let ns = (o["namespace"] as? [String: Any])?["inode"] as? Int ?? -1
            out[ns, default: [:]][o["key"] as? Int ?? -1] = o
        }
        return out
    }

    func testAllNamespacesListsEachContainerWithItsVerdictsOwnersAndHostPids() throws {
        let id = String(getpid())
        let s = try run("""
            ipcsweep list --all-namespaces --format json > $OUT/all.json
            COLUMNS=400 ipcsweep list --all-namespaces > $OUT/all.txt
            ipcsweep orphans --all-namespaces --format csv > $OUT/orphans.csv 2> $OUT/orphans.err
            readlink /proc/self/ns/ipc > $OUT/nshost
            """)
        let all = try byNamespace(s, "all.json")
        let a = try inode(s, "nsa"), b = try inode(s, "nsb"), host = try inode(s, "nshost")
        XCTAssertEqual(Set(all.keys), [a, b, host], "the host-like namespace and both containers, nothing else")
        for (ns, base) in [(a, 0xa000), (b, 0xb000), (host, 0xc000)] {
            XCTAssertEqual(all[ns]?[base + 1]?["verdict"] as? String, "in-use", "held set of namespace \(ns)")
            XCTAssertEqual(all[ns]?[base + 2]?["verdict"] as? String, "orphaned", "orphan of namespace \(ns)")
            XCTAssertEqual(all[ns]?.count, 2, "namespace \(ns) has exactly its own two sets")
        }
        func owner(_ ns: Int) -> String? { (all[ns]?.values.first?["namespace"] as? [String: Any])?["owner"] as? String }
        XCTAssertEqual(owner(a), "docker-a\(id).scope")
        XCTAssertEqual(owner(b), "libpod-b\(id).scope")
        // Holders are named by their host pids, and are the processes of that namespace.
        let holderA = (all[a]?[0xa001]?["holders"] as? [[String: Any]])?.first?["pid"] as? Int
        let holderB = (all[b]?[0xb001]?["holders"] as? [[String: Any]])?.first?["pid"] as? Int
        XCTAssertEqual(holderA, try pid(s, "ha"))
        XCTAssertEqual(holderB, try pid(s, "hb"))
        let text = try s.file("all.txt")
        XCTAssertTrue(text.hasPrefix("NAMESPACE"), text)
        XCTAssertTrue(text.contains("\(a) docker-a\(id).scope"), text)
        XCTAssertTrue(text.contains("\(b) libpod-b\(id).scope"), text)
        let csv = try s.file("orphans.csv")
        let err = try s.file("orphans.err")
        XCTAssertEqual(csv.split(whereSeparator: \.isNewline).count, 4, "a heading and the three orphans: \(csv) \(err)")
    }

    func testNamespaceByPidOrBindMountShowsThatContainerOnly() throws {
        let s = try run("""
            ipcsweep list --namespace $PA --format json > $OUT/a.json
            touch /run/ipcns-b
            mount --bind /proc/$PB/ns/ipc /run/ipcns-b
            ipcsweep list --namespace /run/ipcns-b --format json > $OUT/b.json
            ID=$(ipcsweep list --namespace $PA --key 0xa001 --format csv --no-headings | cut -d, -f3)
            ipcsweep show $ID --namespace /proc/$PA/ns/ipc > $OUT/show.txt
            umount /run/ipcns-b
            set +e
            ipcsweep list --namespace /etc/hostname > /dev/null 2> $OUT/err-file; echo $? > $OUT/rc-file
            ipcsweep list --namespace 99999999 > /dev/null 2> $OUT/err-pid; echo $? > $OUT/rc-pid
            mkfifo $OUT/fifo
            timeout 5 ipcsweep list --namespace $OUT/fifo > /dev/null 2> $OUT/err-fifo; echo $? > $OUT/rc-fifo
            ipcsweep list --namespace $PA --all-namespaces > /dev/null 2> $OUT/err-both; echo $? > $OUT/rc-both
            """)
        let a = try s.objects("a.json").values.map { $0["key"] as? Int ?? -1 }.sorted()
        XCTAssertEqual(a, [0xa001, 0xa002])
        let b = try s.objects("b.json").values.map { $0["key"] as? Int ?? -1 }.sorted()
        XCTAssertEqual(b, [0xb001, 0xb002])
        XCTAssertEqual(try s.objects("b.json").values.first.flatMap { ($0["namespace"] as? [String: Any])?["inode"] as? Int },
                       try inode(s, "nsb"))
        let show = try s.file("show.txt")
        XCTAssertTrue(show.contains("0x0000a001"), show)
        XCTAssertTrue(show.contains("IPC namespace   \(try inode(s, "nsa")) (docker-a\(getpid()).scope"), show)
        XCTAssertTrue(show.contains(String(try pid(s, "ha"))), "the holder's host pid: \(show)")
        for (name, needle) in [("file", "not an IPC namespace file"), ("pid", "no process with pid 99999999"),
                               ("fifo", "not an IPC namespace file"), ("both", "exclude each other")] {
            let err = try s.file("err-\(name)")
            XCTAssertEqual(try s.file("rc-\(name)"), "1\n", "\(name): \(err)")
            XCTAssertTrue(err.contains(needle), "\(name): \(err)")
            XCTAssertEqual(err.split(separator: "\n").count, 1, "one line: \(err)")
        }
    }

    func testCleanNamespaceRemovesExactlyThatContainersOrphan() throws {
        let s = try run(Scenario.syslogListener + """
            ipcsweep clean --namespace $PA --dry-run > $OUT/plan.txt
            ipcsweep clean --namespace $PA --yes --format json > $OUT/clean.json
            wait $LISTENER
            ipcsweep list --all-namespaces --format json > $OUT/after.json
            readlink /proc/self/ns/ipc > $OUT/nshost
            """)
        let clean = try s.json("clean.json")
        let results = clean["results"] as? [[String: Any]] ?? []
        let removed = results.filter { $0["outcome"] as? String == "removed" }.map { $0["key"] as? Int ?? -1 }
        XCTAssertEqual(removed, [0xa002], "only container A's orphan")
        // The held set is skipped, and says why and what to do, as a table and as JSON (worded when the report
        // reads it, from its status and classification).
        let held = try XCTUnwrap(results.first { $0["key"] as? Int == 0xa001 }, "\(results)")
        let heldId = try XCTUnwrap(held["id"] as? Int)
        XCTAssertEqual(held["outcome"] as? String, "skipped")
        let why = try XCTUnwrap(held["reason"] as? String)
        XCTAssertTrue(why.hasPrefix("in use: ") && why.hasSuffix("clean never removes it (to remove it deliberately: ipcrm -s \(heldId))"), why)
        let plan = try s.file("plan.txt")
        XCTAssertTrue(plan.split(separator: "\n").contains { $0.contains("skipped") && $0.contains("in use: ") && $0.contains("ipcrm -s \(heldId))") }, plan)
        XCTAssertTrue(plan.contains("dry run: would remove 1;"), plan)
        let a = try inode(s, "nsa"), b = try inode(s, "nsb"), host = try inode(s, "nshost")
        XCTAssertEqual((clean["namespace"] as? [String: Any])?["inode"] as? Int, a)
        XCTAssertEqual(clean["lock"] as? String, "/run/ipcsweep-ipcns-\(a).lock", "a lock per namespace")
        let journal = try s.file("syslog")
        XCTAssertTrue(journal.contains("removed semaphore set in IPC namespace \(a) (docker-a\(getpid()).scope) id "), journal)
        XCTAssertEqual(journal.split(separator: "\n").count, 1, "one line for the one removal: \(journal)")
        let after = try byNamespace(s, "after.json")
        XCTAssertEqual(after[a].map { Set($0.keys) }, [0xa001], "A keeps its held set")
        XCTAssertEqual(after[b].map { Set($0.keys) }, [0xb001, 0xb002], "B untouched")
        XCTAssertEqual(after[host].map { Set($0.keys) }, [0xc001, 0xc002], "the host-like namespace untouched")
    }

    func testANamespaceWithNoVisibleProcessFailsClosedFromAChildPidNamespace() throws {
        // The scenario runs in a child pid namespace. A namespace kept only by a bind mount (its processes
        // gone) may still have processes elsewhere that this pid namespace cannot see: nothing is orphaned.
        let s = try Scenario.run("""
            mount -t tmpfs tmpfs /run
            mkdir -p /run/ipcns && touch /run/ipcns/kept
            unshare --ipc sh -c 'mount --bind /proc/self/ns/ipc /run/ipcns/kept
                ipcsweep-testkit sem-create --key 0xf001 --as-uid 34 > /dev/null'
            ipcsweep list --namespace /run/ipcns/kept --format json > $OUT/list.json
            timeout 60 ipcsweep clean --namespace /run/ipcns/kept --yes --format json > $OUT/clean.json || true
            ipcsweep list --namespace /run/ipcns/kept --format json > $OUT/after.json
            umount /run/ipcns/kept
            """)
        let o = try XCTUnwrap(try s.objects("list.json").values.first)
        XCTAssertEqual(o["verdict"] as? String, "unknown")
        XCTAssertTrue((o["reasons"] as? [String] ?? []).contains { $0.contains("is visible from this ipcsweep's pid namespace") }, "\(o)")
        XCTAssertEqual((try s.json("clean.json")["results"] as? [[String: Any]])?.first?["outcome"] as? String, "skipped")
        XCTAssertEqual(try s.objects("after.json").count, 1, "nothing removed")
    }

    func testCleanNamespaceSavesASegmentAndAQueueFromInsideIt() throws {
        let s = try run("""
            # An orphaned segment with contents and a queue with messages, made inside container A.
            nsenter --ipc=/proc/$PA/ns/ipc sh -c '
                M=$(ipcsweep-testkit shm-create --key 0xa101 --size 64 --as-uid 34)
                ipcsweep-testkit shm-attach --id $M --write "container bytes"
                Q=$(ipcsweep-testkit msg-create --key 0xa102 --as-uid 34)
                ipcsweep-testkit msg-send --id $Q --type 7 --text "first"
                ipcsweep-testkit msg-send --id $Q --type 8 --text "second"'
            timeout 60 ipcsweep clean --namespace $PA --yes --save-to $OUT/saved --format json > $OUT/clean.json
            ls $OUT/saved > $OUT/saved.list
            cat $OUT/saved/* > $OUT/saved.all
            ipcsweep list --namespace $PA --format json > $OUT/after.json
            """)
        let removed = (try s.json("clean.json")["results"] as? [[String: Any]] ?? [])
            .filter { $0["outcome"] as? String == "removed" }.compactMap { $0["key"] as? Int }.sorted()
        XCTAssertEqual(removed, [0xa002, 0xa101, 0xa102])
        let list = try s.file("saved.list")
        XCTAssertEqual(list.split(separator: "\n").count, 2, list)
        let saved = try s.file("saved.all")
        XCTAssertTrue(saved.contains("container bytes"), "the segment's bytes were read inside the namespace")
        XCTAssertTrue(saved.contains("first") && saved.contains("second"), "the queue's messages were copied inside it")
        XCTAssertEqual(Set(try s.objects("after.json").values.compactMap { $0["key"] as? Int }), [0xa001])
    }

    func testAuditAllNamespacesCountsAndLimitsPerNamespace() throws {
        let s = try run("""
            # Container B gets its own, lower SEMMNI (every IPC namespace has its own kernel.sem).
            nsenter --ipc=/proc/$PB/ns/ipc sh -c 'echo 32000 1024000000 500 10 > /proc/sys/kernel/sem'
            mkdir -p $OUT/logind && printf '[Login]\nRemoveIPC=yes\n' > $OUT/logind/logind.conf
            AUDIT="ipcsweep audit --no-posix --logind-conf $OUT/logind/logind.conf"
            set +e
            $AUDIT --all-namespaces --format json > $OUT/audit.json
            $AUDIT --all-namespaces --format prometheus > $OUT/audit.prom
            $AUDIT --all-namespaces --fail-on orphaned > $OUT/audit.txt; echo $? > $OUT/rc
            $AUDIT --namespace $PB --format json > $OUT/b.json
            readlink /proc/self/ns/ipc > $OUT/nshost
            """)
        let doc = try s.json("audit.json")
        let namespaces = doc["namespaces"] as? [[String: Any]] ?? []
        XCTAssertEqual(namespaces.count, 3)
        let b = try inode(s, "nsb")
        let nb = try XCTUnwrap(namespaces.first { ($0["namespace"] as? [String: Any])?["inode"] as? Int == b })
        let semmni = (nb["limits"] as? [[String: Any]])?.first { $0["name"] as? String == "SEMMNI" }
        XCTAssertEqual(semmni?["limit"] as? Int, 10, "container B's own SEMMNI")
        XCTAssertEqual(semmni?["used"] as? Int, 2)
        XCTAssertEqual(((nb["counts"] as? [String: Any])?["byVerdict"] as? [String: Any])?["orphaned"] as? Int, 1)
        for n in namespaces where n["namespace"] as? [String: Any] != nil {
            let l = (n["limits"] as? [[String: Any]])?.first { $0["name"] as? String == "SEMMNI" }
            if (n["namespace"] as? [String: Any])?["inode"] as? Int != b { XCTAssertEqual(l?["limit"] as? Int, 32000) }
        }
        let prom = try s.file("audit.prom")
        XCTAssertTrue(prom.contains("ipcsweep_limit{kind=\"sem\",limit=\"semmni\",namespace_inode=\"\(b)\",owner=\"libpod-b\(getpid()).scope\"} 10"), prom)
        XCTAssertEqual(prom.components(separatedBy: "# TYPE ipcsweep_objects gauge").count, 2, "each family once")
        XCTAssertEqual(try s.file("rc"), "3\n")
        let text = try s.file("audit.txt")
        XCTAssertEqual(text.components(separatedBy: "ipcsweep audit (IPC namespace").count, 4, text)
        let single = try s.json("b.json")
        XCTAssertEqual((single["namespace"] as? [String: Any])?["inode"] as? Int, b)
        // RemoveIPC= is judged for logind's namespace (here: the tool's own) only, never for a container's.
        XCTAssertTrue(single["removeIPC"] is NSNull, "\(single["removeIPC"] ?? "missing")")
        let host = try inode(s, "nshost")
        for n in namespaces {
            let own = (n["namespace"] as? [String: Any])?["inode"] as? Int == host
            XCTAssertEqual(n["removeIPC"] is NSNull, !own, "namespace \(n["namespace"] ?? "?")")
        }
    }
}

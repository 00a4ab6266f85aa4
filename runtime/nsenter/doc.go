// Package nsenter joins and creates namespaces in a re-executed nullrun
// before the Go runtime starts.
//
// setns(2) into a user or mount namespace fails with EINVAL in a
// multithreaded process, and setns into a net, ipc or uts namespace
// moves only the calling thread. The Go runtime starts threads before
// main, so a C constructor (nsenter.c) does this work first. Importing
// the package links the constructor; a blank import is enough in the
// child. The parent calls Start.
//
// # Cost when unused
//
// The constructor runs in every nullrun process. Without the EnvFD
// environment variable it returns after one getenv(3), and its request
// buffers live in bss, which is never touched.
//
// # Protocol
//
// Start creates a unix stream socket pair, passes one end to the child in
// cmd.ExtraFiles and names its fd number in EnvFD. Every message is a
// header of two host-order uint32 values, type and payload length,
// followed by the payload (nsenter.h lists the types). The exchange is:
//
//  1. The parent sends one join message per namespace (clone flag and
//     path), at most one unshare message (clone flags), and a time-sync
//     message when time offsets are to be written. With Request.Pause
//     it adds a pause message, which names the steps after the pause
//     and the null user's uid and gid. An end message closes the request.
//  2. The child opens every path to join, then joins in three passes as
//     runc's nsexec.c does. The first pass joins every namespace but the user
//     namespace and skips those that fail with EPERM. The second joins
//     the user namespace, and the third the skipped ones. Joining a user namespace replaces the caller's
//     capabilities with those it has in that namespace, so namespaces it
//     does not own (the host's network namespace, say) can only be
//     joined before it, while namespaces it owns may need those
//     capabilities when the caller is unprivileged. After joining a user
//     namespace the child switches to uid and gid 0 in it, as runc does.
//     The child makes itself non-dumpable before joining, so processes
//     already in those namespaces cannot ptrace it or open its /proc
//     files, and Go main starts that way. Because the /proc/self files
//     of a non-dumpable process belong to host root, a child whose uid
//     in a joined user namespace is not host root cannot list
//     /proc/self/fd until it sets PR_SET_DUMPABLE again.
//  3. To create a user namespace the child unshares CLONE_NEWUSER and
//     sends a user-namespace message. The parent writes
//     /proc/PID/uid_map, "deny" to /proc/PID/setgroups if requested, and
//     /proc/PID/gid_map, then acknowledges with whether uid 0 and gid 0
//     are mapped; the child switches to each one that is.
//  4. The child unshares the other requested namespaces in one call. For
//     a new time namespace with offsets it sends a time-namespace
//     message and waits while the parent writes
//     /proc/PID/timens_offsets, which must happen before any process
//     enters the namespace.
//  5. The child marks the socket close-on-exec. If it joined or created
//     a pid or time namespace, which apply only to children, it forks:
//     the intermediate process sends a done message with the
//     grandchild's PID and exits, and the grandchild waits for that exit
//     before it goes on, so the intermediate process writes nothing
//     after the done message. Otherwise the child sends a done message
//     with its own PID. Start returns at the done message.
//  6. With a pause message, the process that runs Go main (the
//     grandchild after a fork) waits for a resume message, which the
//     parent sends from Resume once it has placed that PID in its
//     cgroup. The process then unshares a cgroup namespace, whose root
//     is that cgroup, if requested. For the null user it calls
//     setgroups with an empty list, setresgid and setresuid with the
//     given host IDs, clears dumpable (the euid change reset it to
//     fs.suid_dumpable) and unshares a user namespace that no one
//     maps, or, given a null user namespace message, joins that
//     existing one: its owner's euid holds every capability in it, so
//     setns needs no host capability. It does the uid switch first because
//     no ID can be set once the namespace is unmapped, and the cgroup
//     namespace before the user namespace so that the unmapped user
//     namespace owns no other namespace. It then sends a resumed
//     message.
//
// Any failure in the child ends the exchange with an error message (errno
// and text naming the namespace and path), after which the child exits
// with status 1. Start or Resume returns it as a *SetupError. A cgroup
// namespace is only ever created after the pause, so that its root is
// the process's own cgroup: Unshare rejects "cgroup".
//
// After the done message, or the resumed message with a pause, the
// socket belongs to the caller: the parent keeps its end, and the
// child's Go code gets its end from ChildSocket, positioned after the
// constructor's messages.
package nsenter

// Command nullprobe tries, from inside a null sandbox, the operations that
// null settings forbid or allow, and prints one line per check:
//
//	CHECK ok
//	CHECK errno=EACCES
//	CHECK value=VALUE
//	CHECK error=TEXT
//
// CHECK is the argument exactly as given, so a test can look each result
// up by the argument it passed. "errno" is the symbolic name of the error
// of the system call under test, "value" a result that the test compares,
// and "error" a failure of the probe itself (a bad argument, a check that
// could not be set up).
//
// Each check runs on its own and undoes what it changed (files it created,
// the working directory), so checks can be given in any order. The checks
// use raw system calls where libraries would retry, fall back or hide the
// errno. The probe must be linked statically: a process with a null root
// cannot load a dynamic loader.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// check runs one check with the text after "=" (empty without "=") and
// returns the result part of its output line.
type check func(arg string) string

// checks lists every check by name. A name ending in "=" takes an
// argument: PATH, FD, FD:PATH, PID or NAME.
var checks = map[string]check{
	// Paths looked up from the root, the cwd or a granted directory fd.
	"open=":           checkOpen,
	"create=":         checkCreate,
	"chdir=":          checkChdir,
	"openat=":         checkOpenat,
	"read=":           checkRead,
	"write=":          checkWrite,
	"readfd=":         checkReadFD,
	"writefd=":        checkWriteFD,
	"symlink-escape=": checkSymlinkEscape,
	"fchdir-climb=":   checkFchdirClimb,
	"open-by-handle=": checkOpenByHandle,
	"cgroup-paths":    checkCgroupPaths,

	// The mount API and mount namespaces.
	"mount":         checkMount,
	"umount2":       checkUmount2,
	"pivot_root":    checkPivotRoot,
	"chroot":        checkChroot,
	"open_tree":     checkOpenTree,
	"fsopen":        checkFsopen,
	"fspick":        checkFspick,
	"mount_setattr": checkMountSetattr,
	"unshare-mount": func(string) string { return unshareThread(unix.CLONE_NEWNS) },
	"unshare-user":  func(string) string { return unshareThread(unix.CLONE_NEWUSER) },

	// Sockets.
	"socket-inet":       func(string) string { return socketResult(unix.AF_INET, unix.SOCK_STREAM) },
	"socket-inet6":      func(string) string { return socketResult(unix.AF_INET6, unix.SOCK_STREAM) },
	"socket-netlink":    func(string) string { return socketResult(unix.AF_NETLINK, unix.SOCK_RAW) },
	"socket-packet":     func(string) string { return socketResult(unix.AF_PACKET, unix.SOCK_RAW) },
	"socket-unix":       func(string) string { return socketResult(unix.AF_UNIX, unix.SOCK_STREAM) },
	"socketpair-unix":   checkSocketpairUnix,
	"socketpair-inet":   checkSocketpairInet,
	"io_uring_setup":    checkIoUringSetup,
	"connect-abstract=": checkConnectAbstract,
	"connect-path=":     checkConnectPath,
	"unix-echo=":        checkUnixEcho,
	"accept=":           checkAccept,

	// SysV IPC and POSIX message queues.
	"msgget":  func(string) string { return sysResult(unix.SYS_MSGGET, unix.IPC_PRIVATE, 0o600, 0) },
	"semget":  func(string) string { return sysResult(unix.SYS_SEMGET, unix.IPC_PRIVATE, 1, 0o600) },
	"shmget":  func(string) string { return sysResult(unix.SYS_SHMGET, unix.IPC_PRIVATE, 4096, 0o600) },
	"mq_open": checkMqOpen,

	// Host and domain names.
	"uname":         checkUname,
	"sethostname":   checkSethostname,
	"setdomainname": checkSetdomainname,

	// User and group IDs.
	"getuid":    func(string) string { return idValue(unix.SYS_GETUID) },
	"geteuid":   func(string) string { return idValue(unix.SYS_GETEUID) },
	"getgid":    func(string) string { return idValue(unix.SYS_GETGID) },
	"getegid":   func(string) string { return idValue(unix.SYS_GETEGID) },
	"setuid":    func(string) string { return sysResult(unix.SYS_SETUID, 0, 0, 0) },
	"setgid":    func(string) string { return sysResult(unix.SYS_SETGID, 0, 0, 0) },
	"setgroups": func(string) string { return sysResult(unix.SYS_SETGROUPS, 0, 0, 0) },

	// Processes and signals.
	"fork":          checkFork,
	"clone3":        checkClone3,
	"thread":        checkThread,
	"getpid":        checkGetpid,
	"kill-self":     func(string) string { return errnoResult(unix.Kill(unix.Getpid(), 0)) },
	"kill-parent":   func(string) string { return errnoResult(unix.Kill(unix.Getppid(), 0)) },
	"kill=":         checkKill,
	"pidfd_open=":   checkPidfdOpen,
	"pidfd-signal=": checkPidfdSignal,

	// Time.
	"clock_gettime": checkClockGettime,
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "usage: nullprobe CHECK...\nchecks: %s\n", strings.Join(checkNames(), " "))
		os.Exit(2)
	}
	var out strings.Builder
	for _, arg := range os.Args[1:] {
		fmt.Fprintf(&out, "%s %s\n", arg, runCheck(arg))
	}
	// One write, so the output survives a sandbox that kills the probe
	// late and is never interleaved with a check's own output.
	os.Stdout.WriteString(out.String())
}

// runCheck finds the check for arg ("name" or "name=argument") and runs it.
func runCheck(arg string) string {
	name, value, hasValue := strings.Cut(arg, "=")
	if hasValue {
		name += "="
	}
	c, ok := checks[name]
	if !ok {
		return "error=unknown check " + strconv.Quote(name)
	}
	return c(value)
}

func checkNames() []string {
	names := make([]string, 0, len(checks))
	for name := range checks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// errnoResult returns "ok" for a nil error, "errno=NAME" for an errno and
// "error=TEXT" for anything else.
func errnoResult(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		// EOPNOTSUPP and ENOTSUP share a number on Linux; the documented
		// name of the null-root errno is EOPNOTSUPP.
		if errno == unix.EOPNOTSUPP {
			return "errno=EOPNOTSUPP"
		}
		if name := unix.ErrnoName(errno); name != "" {
			return "errno=" + name
		}
		return "errno=" + strconv.Itoa(int(errno))
	}
	return "error=" + err.Error()
}

// sysResult makes the raw system call nr on this thread and closes an fd
// it returns. Raw calls keep the Go runtime from applying an ID change to
// every thread, which panics when only some threads succeed.
func sysResult(nr, a1, a2, a3 uintptr) string {
	r, _, errno := unix.RawSyscall(nr, a1, a2, a3)
	if errno != 0 {
		return errnoResult(errno)
	}
	if nr == unix.SYS_MSGGET || nr == unix.SYS_SEMGET || nr == unix.SYS_SHMGET {
		removeIPC(nr, int(r))
	}
	return "ok"
}

// removeIPC removes a SysV object that a check managed to create, so an
// escaped check leaves nothing in the IPC namespace.
func removeIPC(nr uintptr, id int) {
	switch nr {
	case unix.SYS_MSGGET:
		unix.RawSyscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
	case unix.SYS_SEMGET:
		unix.RawSyscall6(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID, 0, 0, 0)
	case unix.SYS_SHMGET:
		unix.RawSyscall(unix.SYS_SHMCTL, uintptr(id), unix.IPC_RMID, 0)
	}
}

// parseFD parses a decimal fd number, or "cwd" for AT_FDCWD.
func parseFD(s string) (int, error) {
	if s == "cwd" {
		return unix.AT_FDCWD, nil
	}
	fd, err := strconv.Atoi(s)
	if err != nil || fd < 0 {
		return 0, fmt.Errorf("invalid fd %q", s)
	}
	return fd, nil
}

// parseFDPath splits "FD:PATH".
func parseFDPath(arg string) (int, string, error) {
	fdText, path, ok := strings.Cut(arg, ":")
	if !ok {
		return 0, "", fmt.Errorf("invalid argument %q: want FD:PATH", arg)
	}
	fd, err := parseFD(fdText)
	return fd, path, err
}

func checkClockGettime(string) string {
	var ts unix.Timespec
	// The raw system call, not the vDSO, so a seccomp rule would show.
	_, _, errno := unix.RawSyscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_REALTIME,
		uintptr(unsafe.Pointer(&ts)), 0)
	if errno != 0 {
		return errnoResult(errno)
	}
	if ts.Sec == 0 {
		return "value=0"
	}
	return "ok"
}

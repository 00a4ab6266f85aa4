package linux

import (
	"errors"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SysFchroot is the number of fchroot(2) in the VFS tree that adds failfs
// (Linux 7.3). Other proposals claim the same number, so call Fchroot only
// after a probe in a throw-away process has matched its errno signature.
const SysFchroot = 472

// FDFailfsRoot is the FD_FAILFS_ROOT sentinel that fchdir(2) and fchroot(2)
// understand on kernels with failfs (Linux 7.3).
const FDFailfsRoot = -10004

// SeccompActionAvailable returns nil if the kernel supports the seccomp
// filter return action (seccomp SECCOMP_GET_ACTION_AVAIL). The call changes
// nothing.
func SeccompActionAvailable(action uint32) error {
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0,
		uintptr(unsafe.Pointer(&action)))
	if errno != 0 {
		return os.NewSyscallError("seccomp(SECCOMP_GET_ACTION_AVAIL)", errno)
	}
	return nil
}

// cloneArgs is struct clone_args up to CLONE_ARGS_SIZE_VER2 (cgroup).
type cloneArgs struct {
	flags, pidfd, childTID, parentTID, exitSignal, stack, stackSize, tls uint64
	setTID, setTIDSize, cgroup                                           uint64
}

// Clone3FlagAccepted calls clone3 with flags plus CLONE_INTO_CGROUP and a
// cgroup descriptor that cannot be open (INT_MAX is above fs.nr_open), so no
// process is created. It returns nil if the kernel got past its flag check
// (the call then fails with EBADF, or EPERM for a flag that needs a
// privilege), and otherwise the error, which wraps EINVAL for a flag bit the
// kernel does not know and ENOSYS without clone3.
func Clone3FlagAccepted(flags uint64) error {
	args := cloneArgs{flags: flags | unix.CLONE_INTO_CGROUP, cgroup: 1<<31 - 1}
	pid, _, errno := unix.RawSyscall(unix.SYS_CLONE3, uintptr(unsafe.Pointer(&args)),
		unsafe.Sizeof(args), 0)
	switch {
	case errno == unix.EBADF || errno == unix.EPERM:
		return nil
	case errno != 0:
		return os.NewSyscallError("clone3", errno)
	case pid == 0:
		// Unreachable on any kernel that honours CLONE_INTO_CGROUP; if it
		// happens, this is the copy and must not run Go code any further.
		unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
	var ws unix.WaitStatus
	unix.Wait4(int(pid), &ws, unix.WALL, nil)
	return os.NewSyscallError("clone3", errors.New("created a process despite an invalid cgroup descriptor"))
}

// OpenTreeFlagAccepted calls open_tree on a descriptor that is not open, so
// nothing is opened or created. It returns nil if the kernel got past its
// flag check (the call then fails with EBADF, or EPERM for a flag that needs
// a privilege), and otherwise the error, which wraps EINVAL for an unknown
// flag.
func OpenTreeFlagAccepted(flags uint) error {
	path, err := unix.BytePtrFromString(".")
	if err != nil {
		return err
	}
	fd, _, errno := unix.Syscall(unix.SYS_OPEN_TREE, uintptr(1<<31-1),
		uintptr(unsafe.Pointer(path)), uintptr(flags|unix.OPEN_TREE_CLOEXEC))
	switch errno {
	case unix.EBADF, unix.EPERM:
		return nil
	case 0:
		unix.Close(int(fd))
		return nil
	}
	return os.NewSyscallError("open_tree", errno)
}

// Fchroot calls fchroot(2) (see SysFchroot) with fd, which may be
// FDFailfsRoot. The kernel rejects a caller that shares its fs_struct with
// another thread (EINVAL), so a Go program unshares CLONE_FS first.
func Fchroot(fd int, flags uint) error {
	_, _, errno := unix.Syscall(SysFchroot, uintptr(fd), uintptr(flags), 0)
	if errno != 0 {
		return &os.PathError{Op: "fchroot", Path: fdName(fd), Err: errno}
	}
	return nil
}

// FchdirFD changes the working directory to fd, which may be FDFailfsRoot.
func FchdirFD(fd int) error {
	_, _, errno := unix.Syscall(unix.SYS_FCHDIR, uintptr(fd), 0, 0)
	if errno != 0 {
		return &os.PathError{Op: "fchdir", Path: fdName(fd), Err: errno}
	}
	return nil
}

// ProbeSocket creates and closes a socket, to read the errno a null network
// namespace would return (ENONET).
func ProbeSocket(domain, typ int) error {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	unix.Close(fd)
	return nil
}

// ProbeUname calls uname, to read the errno a null UTS namespace would
// return (ENOENT).
func ProbeUname() error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return os.NewSyscallError("uname", err)
	}
	return nil
}

// ProbeMsgget looks up the System V message queue with key without creating
// it, to read the errno a null IPC namespace would return (ENOSYS). Without
// such a namespace a key that has no queue returns ENOENT.
func ProbeMsgget(key int) error {
	_, _, errno := unix.Syscall(unix.SYS_MSGGET, uintptr(key), 0, 0)
	if errno != 0 {
		return os.NewSyscallError("msgget", errno)
	}
	return nil
}

func fdName(fd int) string {
	if fd == FDFailfsRoot {
		return "FD_FAILFS_ROOT"
	}
	return "fd " + strconv.Itoa(fd)
}

package linux

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Sethostname sets the UTS namespace's host name.
func Sethostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return &os.PathError{Op: "sethostname", Path: name, Err: err}
	}
	return nil
}

// Setdomainname sets the UTS namespace's NIS domain name.
func Setdomainname(name string) error {
	if err := unix.Setdomainname([]byte(name)); err != nil {
		return &os.PathError{Op: "setdomainname", Path: name, Err: err}
	}
	return nil
}

// Unshare moves the calling thread into new namespaces (CLONE_NEW* flags).
func Unshare(flags int) error {
	if err := unix.Unshare(flags); err != nil {
		return os.NewSyscallError("unshare", err)
	}
	return nil
}

// SetThreadCredentials sets the calling thread's groups, gid and uid, in
// that order, with raw system calls that affect this thread only. The
// container init calls it on the locked thread it will execve from.
func SetThreadCredentials(uid, gid int, groups []int) error {
	gids := make([]uint32, len(groups))
	for i, g := range groups {
		gids[i] = uint32(g)
	}
	var p uintptr
	if len(gids) > 0 {
		p = uintptrOf(&gids[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), p, 0); e != 0 {
		return os.NewSyscallError("setgroups", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
		return os.NewSyscallError("setresgid", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
		return os.NewSyscallError("setresuid", e)
	}
	return nil
}

// SetNoNewPrivs sets no_new_privs on the calling thread.
func SetNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_NO_NEW_PRIVS)", err)
	}
	return nil
}

// SetChildSubreaper makes this process the reaper of its orphaned
// descendants, so a forked container init can still be waited for.
func SetChildSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_CHILD_SUBREAPER)", err)
	}
	return nil
}

// Setrlimit sets a resource limit through package syscall, because the Go
// runtime restores the soft RLIMIT_NOFILE it cached at start on every exec
// unless the limit was changed through syscall.Setrlimit.
func Setrlimit(resource int, soft, hard uint64) error {
	lim := syscall.Rlimit{Cur: soft, Max: hard}
	if err := syscall.Setrlimit(resource, &lim); err != nil {
		return os.NewSyscallError("setrlimit", err)
	}
	return nil
}

// Setsid starts a new session with the calling process as its leader.
func Setsid() error {
	if _, err := unix.Setsid(); err != nil {
		return os.NewSyscallError("setsid", err)
	}
	return nil
}

// SetControllingTerminal makes the terminal on fd the session's
// controlling terminal.
func SetControllingTerminal(fd int) error {
	if err := unix.IoctlSetInt(fd, unix.TIOCSCTTY, 0); err != nil {
		return os.NewSyscallError("ioctl(TIOCSCTTY)", err)
	}
	return nil
}

// Dup3 duplicates oldfd onto newfd.
func Dup3(oldfd, newfd int) error {
	if err := unix.Dup3(oldfd, newfd, 0); err != nil {
		return os.NewSyscallError("dup3", err)
	}
	return nil
}

// JoinSessionKeyring gives the calling process a new anonymous session
// keyring named name.
func JoinSessionKeyring(name string) error {
	if _, err := unix.KeyctlJoinSessionKeyring(name); err != nil {
		return os.NewSyscallError("keyctl(JOIN_SESSION_KEYRING)", err)
	}
	return nil
}

// Exec replaces the calling process with argv0 run as path.
func Exec(path string, argv, env []string) error {
	if err := unix.Exec(path, argv, env); err != nil {
		return &os.PathError{Op: "exec", Path: path, Err: err}
	}
	return nil
}

// Kill sends sig to pid.
func Kill(pid int, sig unix.Signal) error {
	if err := unix.Kill(pid, sig); err != nil {
		return os.NewSyscallError("kill", err)
	}
	return nil
}

// Wait4 waits for the child pid and returns its wait status.
func Wait4(pid int) (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	err := retryEINTR(func() error {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		return err
	})
	if err != nil {
		return 0, os.NewSyscallError("wait4", err)
	}
	return ws, nil
}

// PidfdOpen returns a pidfd for pid.
func PidfdOpen(pid int) (*os.File, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, os.NewSyscallError("pidfd_open", err)
	}
	return os.NewFile(uintptr(fd), "pidfd"), nil
}

// PidfdSendSignal sends sig to the process pidfd refers to, which cannot
// have been replaced by another process reusing its PID.
func PidfdSendSignal(pidfd *os.File, sig unix.Signal) error {
	if err := unix.PidfdSendSignal(int(pidfd.Fd()), sig, nil, 0); err != nil {
		return os.NewSyscallError("pidfd_send_signal", err)
	}
	return nil
}

// PollReadable waits up to timeoutMs for f to become readable (a pidfd
// becomes readable when its process exits) and reports whether it did.
func PollReadable(f *os.File, timeoutMs int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, os.NewSyscallError("poll", err)
		}
		return n > 0, nil
	}
}

// SetDumpable sets whether the calling process may be ptraced or have its
// /proc files (such as exe) opened by processes of the same user.
func SetDumpable(dumpable bool) error {
	v := 0
	if dumpable {
		v = 1
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, uintptr(v), 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl(PR_SET_DUMPABLE)", err)
	}
	return nil
}

// Execveat replaces the calling process with the program open at fd, as
// execveat(fd, "", argv, envp, AT_EMPTY_PATH) does: no path is looked up.
func Execveat(fd int, argv, env []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	empty, _ := syscall.BytePtrFromString("")
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])),
		unix.AT_EMPTY_PATH, 0)
	return os.NewSyscallError("execveat", e)
}

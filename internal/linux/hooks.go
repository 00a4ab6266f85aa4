package linux

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// NewMemFile returns a close-on-exec, read-write anonymous file that lives
// in memory (memfd_create). It needs no writable filesystem, so it works in
// a container's mount namespace too. name only labels /proc/PID/fd links.
func NewMemFile(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "memfd_create", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), "memfd:"+name), nil
}

// WaitExitedNoReap blocks until the child pid has exited but leaves it a
// zombie (waitid with WNOWAIT). While the zombie exists its PID and process
// group ID cannot be reused, so the caller can still signal the group safely
// before reaping it with os.Process.Wait.
func WaitExitedNoReap(pid int) error {
	var info unix.Siginfo
	err := retryEINTR(func() error {
		return unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
	})
	if err != nil {
		return os.NewSyscallError("waitid "+strconv.Itoa(pid), err)
	}
	return nil
}

// KillProcessGroup sends sig to every process in the process group pgid.
// A group with no members left is not an error.
func KillProcessGroup(pgid int, sig unix.Signal) error {
	if pgid <= 0 {
		return os.NewSyscallError("kill", unix.EINVAL)
	}
	err := unix.Kill(-pgid, sig)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return os.NewSyscallError("kill -"+strconv.Itoa(pgid), err)
	}
	return nil
}

// InheritedFDs returns the descriptors >= first that lack FD_CLOEXEC, that
// is, those a program started by this process would inherit. It lists
// /proc/self/fd and, where /proc is not mounted, probes every descriptor
// below the soft RLIMIT_NOFILE.
func InheritedFDs(first int) ([]int, error) {
	candidates, err := openFDs()
	if err != nil {
		return nil, err
	}

	var inherited []int
	for _, fd := range candidates {
		if fd < first {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if errors.Is(err, unix.EBADF) {
			// Closed since it was listed, for example the directory fd that
			// read /proc/self/fd.
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("fcntl F_GETFD "+strconv.Itoa(fd), err)
		}
		if flags&unix.FD_CLOEXEC == 0 {
			inherited = append(inherited, fd)
		}
	}
	return inherited, nil
}

func openFDs() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err == nil {
		fds := make([]int, 0, len(entries))
		for _, entry := range entries {
			if fd, err := strconv.Atoi(entry.Name()); err == nil {
				fds = append(fds, fd)
			}
		}
		return fds, nil
	}

	var limit unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &limit); err != nil {
		return nil, os.NewSyscallError("getrlimit RLIMIT_NOFILE", err)
	}
	// The kernel caps the descriptor table at fs.nr_open (1<<20 by
	// default), so probing beyond that is pointless.
	end := min(limit.Cur, 1<<20)
	fds := make([]int, 0, end)
	for fd := 0; uint64(fd) < end; fd++ {
		fds = append(fds, fd)
	}
	return fds, nil
}

// SetCloseOnExec sets or clears FD_CLOEXEC on fd.
func SetCloseOnExec(fd int, closeOnExec bool) error {
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil {
		return os.NewSyscallError("fcntl F_GETFD "+strconv.Itoa(fd), err)
	}
	if closeOnExec {
		flags |= unix.FD_CLOEXEC
	} else {
		flags &^= unix.FD_CLOEXEC
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags); err != nil {
		return os.NewSyscallError("fcntl F_SETFD "+strconv.Itoa(fd), err)
	}
	return nil
}

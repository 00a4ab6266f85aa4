package linux

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SeccompSetModeFilter installs prog as a seccomp filter on the calling thread only,
// with seccomp(SECCOMP_SET_MODE_FILTER, flags). It returns the listener fd when
// flags contains SECCOMP_FILTER_FLAG_NEW_LISTENER, and -1 otherwise.
//
// The kernel accepts the filter only if the thread has no_new_privs set or
// CAP_SYS_ADMIN in its effective set; otherwise the error wraps EACCES.
func SeccompSetModeFilter(prog []unix.SockFilter, flags uint) (int, error) {
	// The kernel takes at most BPF_MAXINSNS (4096) instructions, and the
	// length field of sock_fprog is 16 bits wide.
	if len(prog) == 0 || len(prog) > 4096 {
		return -1, os.NewSyscallError("seccomp", unix.EINVAL)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}

	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return -1, os.NewSyscallError("seccomp", errno)
	}
	if flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
		return -1, nil
	}
	return int(fd), nil
}

package linux

import (
	"os"

	"golang.org/x/sys/unix"
)

// SetKeepCaps sets or clears the calling thread's keep-capabilities flag
// (PR_SET_KEEPCAPS). While it is set, a change from uid 0 to non-zero uids keeps
// the permitted set; the kernel clears the effective and ambient sets anyway and
// resets the flag at execve.
func SetKeepCaps(keep bool) error {
	var arg uintptr
	if keep {
		arg = 1
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, arg, 0, 0, 0); err != nil {
		return os.NewSyscallError("prctl PR_SET_KEEPCAPS", err)
	}
	return nil
}

// CapbsetRead reports whether capability c is in the calling thread's
// bounding set. It needs no /proc, which a container may not have.
func CapbsetRead(c int) (bool, error) {
	r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	if err != nil {
		return false, os.NewSyscallError("prctl(PR_CAPBSET_READ)", err)
	}
	return r == 1, nil
}

package linux

import (
	"os"

	"golang.org/x/sys/unix"
)

// DropAllCapabilities empties the calling thread's capability bounding,
// ambient, effective, permitted and inheritable sets. Capability sets are
// per thread, so the other threads of a Go process keep theirs; the caller
// execs from this thread, and exec discards the others.
//
// Dropping from the bounding set needs CAP_SETPCAP. Without it the bounding
// set is left as it is, which is harmless once no_new_privs is set: exec
// then cannot raise the permitted set above the (empty) one it had.
func DropAllCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capget", err)
	}

	if data[0].Effective&(1<<unix.CAP_SETPCAP) != 0 {
		if err := dropBoundingSet(); err != nil {
			return err
		}
	}

	// The ambient set must be cleared explicitly: it is not tied to the
	// permitted set until the next exec.
	err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
	if err != nil && err != unix.EINVAL {
		return os.NewSyscallError("prctl(PR_CAP_AMBIENT_CLEAR_ALL)", err)
	}

	// pid 0 in the header selects the calling thread.
	hdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data = [2]unix.CapUserData{}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return os.NewSyscallError("capset", err)
	}
	return nil
}

// dropBoundingSet drops capabilities from 0 upwards until the kernel
// returns EINVAL, which marks the first number past its last capability.
// Counting that way needs no /proc/sys/kernel/cap_last_cap, which a process
// with an empty root cannot open.
func dropBoundingSet() error {
	for c := 0; c < 64; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err == unix.EINVAL {
			return nil
		}
		if err != nil {
			return os.NewSyscallError("prctl(PR_CAPBSET_DROP)", err)
		}
	}
	return nil
}

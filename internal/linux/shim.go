package linux

import (
	"os"

	"golang.org/x/sys/unix"
)

// ReapAnyChild reaps one exited child of the calling process without
// blocking, as wait4(-1, WNOHANG) does. It returns pid 0 when children
// exist but none has exited, and an error wrapping ECHILD when there are
// no children at all.
func ReapAnyChild() (int, unix.WaitStatus, error) {
	var ws unix.WaitStatus
	var pid int
	err := retryEINTR(func() error {
		var err error
		pid, err = unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		return err
	})
	if err != nil {
		return 0, 0, os.NewSyscallError("wait4", err)
	}
	return pid, ws, nil
}

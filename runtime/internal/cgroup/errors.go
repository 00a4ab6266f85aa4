package cgroup

import (
	"errors"
	"fmt"
)

// Sentinel errors; compare with errors.Is.
var (
	// ErrInvalid is wrapped by every error that rejects a value of the
	// spec's linux section or of a resources update.
	ErrInvalid = errors.New("invalid cgroup configuration")

	// ErrSystemdNotRunning is returned when the systemd cgroup driver is
	// requested on a host whose PID 1 is not systemd.
	ErrSystemdNotRunning = errors.New(
		"systemd cgroup driver requested (--systemd-cgroup) but systemd is not running")
)

// invalid returns an ErrInvalid error that names the spec field, its value
// and what a valid value looks like.
func invalid(field string, value any, hint string) error {
	return fmt.Errorf("%w: %s %v: %s", ErrInvalid, field, value, hint)
}

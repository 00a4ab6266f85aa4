package runtime

import "errors"

// Sentinel errors; compare with errors.Is. Their text contains the words
// clients such as containerd and podman match.
var (
	// ErrNotExist is returned for an unknown container ID.
	ErrNotExist = errors.New("does not exist")
	// ErrExist is returned when the ID is taken.
	ErrExist = errors.New("container with given ID already exists")
	// ErrNotRunning is returned when signalling a stopped container.
	ErrNotRunning = errors.New("container not running")
	// ErrNotPaused is returned when resuming a container that is not paused.
	ErrNotPaused = errors.New("container not paused")
	// ErrStopped is returned when exec'ing into a stopped container.
	ErrStopped = errors.New("cannot exec in a stopped container")

	errNotImplemented = errors.New("not implemented")
)

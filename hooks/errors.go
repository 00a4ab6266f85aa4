package hooks

import (
	"errors"
	"strings"
)

// Sentinel errors, to compare with errors.Is.
var (
	// ErrInvalidHook is wrapped by every error about a hook entry that
	// cannot be run as written: a relative path or a timeout below 1 s.
	ErrInvalidHook = errors.New("invalid hook")
	// ErrTimeout is wrapped by the error of a hook that ran past its
	// timeout and was killed.
	ErrTimeout = errors.New("timed out")
)

// HookError is the failure of one hook that was started or tried to start.
type HookError struct {
	// Path is the hook's path from the spec.
	Path string
	// Err is the cause: an *exec.ExitError for a non-zero exit or a fatal
	// signal, an error wrapping ErrTimeout, the context's error when the
	// caller cancelled the run, or the reason the program did not start.
	Err error
	// Stdout and Stderr are the first bytes the hook wrote, at most
	// maxCapture each.
	Stdout, Stderr string
}

// Error returns "run hook PATH: CAUSE" followed by the first lines of the
// hook's stderr and stdout, each quoted so it stays one line.
func (e *HookError) Error() string {
	var b strings.Builder
	b.WriteString("run hook ")
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Stderr != "" {
		b.WriteString("; stderr: ")
		b.WriteString(quoteLines(e.Stderr))
	}
	if e.Stdout != "" {
		b.WriteString("; stdout: ")
		b.WriteString(quoteLines(e.Stdout))
	}
	return b.String()
}

// Unwrap returns the cause, so errors.Is(err, ErrTimeout) and
// errors.As(err, &exitErr) see through a HookError.
func (e *HookError) Unwrap() error { return e.Err }

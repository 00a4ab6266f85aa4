// Package hooks runs OCI runtime-spec hooks. Each hook gets the container
// state JSON on stdin and exactly the argv and environment the spec gives.
// It runs in its own process group, which is killed when the hook's timeout
// expires or the caller's context ends.
//
// Waiting for a hook ends when the hook process exits, even if it left a
// background child running that still holds its stdin, stdout or stderr.
// Such children are not killed unless the hook timed out or was cancelled.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// Run runs hooks in order with state (the runtime-spec state JSON bytes) on
// each hook's stdin. It checks every hook with Validate before starting any.
// It stops at the first failure and returns a *HookError naming the hook
// path, its exit status or the timeout, and the first lines of its stderr.
//
// Hooks inherit the caller's working directory and only file descriptors
// 0-2; see startHook for how descriptors without FD_CLOEXEC are kept back.
func Run(ctx context.Context, hooks []specs.Hook, state []byte) error {
	if err := Validate(hooks); err != nil {
		return err
	}
	for _, hook := range hooks {
		if err := runHook(ctx, hook, state); err != nil {
			return err
		}
	}
	return nil
}

// RunAll runs every hook even when some fail (poststop semantics) and
// returns all failures joined (errors.Join). An invalid hook is reported
// and skipped, and the hooks after it still run.
func RunAll(ctx context.Context, hooks []specs.Hook, state []byte) error {
	var errs []error
	for _, hook := range hooks {
		err := validateHook(hook)
		if err == nil {
			err = runHook(ctx, hook, state)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks that each hook has an absolute path and, if it sets a
// timeout, one of at least 1 s. It returns every problem joined, each
// wrapping ErrInvalidHook.
func Validate(hooks []specs.Hook) error {
	var errs []error
	for _, hook := range hooks {
		if err := validateHook(hook); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validateHook(hook specs.Hook) error {
	if !filepath.IsAbs(hook.Path) {
		return fmt.Errorf("%w %q: path must be absolute", ErrInvalidHook, hook.Path)
	}
	if hook.Timeout != nil && *hook.Timeout <= 0 {
		return fmt.Errorf("%w %s: timeout %d must be at least 1 second, or omitted for none",
			ErrInvalidHook, hook.Path, *hook.Timeout)
	}
	return nil
}

// runHook runs one valid hook and waits for it to exit.
func runHook(ctx context.Context, hook specs.Hook, state []byte) error {
	if err := ctx.Err(); err != nil {
		return &HookError{Path: hook.Path, Err: fmt.Errorf("not started: %w", context.Cause(ctx))}
	}

	runCtx := ctx
	if hook.Timeout != nil {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(*hook.Timeout)*time.Second)
		defer cancel()
	}

	stdin, err := newStdin(state)
	if err != nil {
		return err
	}
	defer stdin.Close()
	stdout, err := newOutput("hook-stdout")
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := newOutput("hook-stderr")
	if err != nil {
		return err
	}
	defer stderr.Close()

	proc, err := startHook(hook, []*os.File{stdin, stdout, stderr})
	if err != nil {
		return &HookError{Path: hook.Path, Err: err}
	}
	status, killed, err := waitHook(runCtx, proc)
	if err != nil {
		return &HookError{Path: hook.Path, Err: err}
	}
	if status.Success() {
		return nil
	}

	hookErr := &HookError{
		Path:   hook.Path,
		Err:    &exec.ExitError{ProcessState: status},
		Stdout: readCapture(stdout),
		Stderr: readCapture(stderr),
	}
	switch {
	case killed && ctx.Err() != nil:
		hookErr.Err = fmt.Errorf("killed with its process group: %w", context.Cause(ctx))
	case killed:
		hookErr.Err = fmt.Errorf("%w after %d s, so it and its process group were killed",
			ErrTimeout, *hook.Timeout)
	}
	return hookErr
}

// startMu serialises startHook, so that one call cannot restore FD_CLOEXEC
// flags while another is about to fork with them cleared.
var startMu sync.Mutex

// startHook starts the hook in a new process group with files as its
// descriptors 0-2.
//
// Go opens its own descriptors close-on-exec, but this process can hold
// descriptors without FD_CLOEXEC that it inherited (a shim's sockets) or
// keeps for a later exec (a container's preserved fds). A hook must see
// none of them, so they are marked close-on-exec across the fork and
// exec, then put back as they were.
//
// NOTE: a goroutine that closes one of those descriptors while a hook
// starts, and opens a new file that gets the same number, would find
// FD_CLOEXEC cleared on the new file afterwards.
func startHook(hook specs.Hook, files []*os.File) (*os.Process, error) {
	argv := hook.Args
	if len(argv) == 0 {
		argv = []string{hook.Path}
	}
	// os.StartProcess gives a nil Env the runtime's own environment, but
	// the spec wants exactly the listed variables, so nil means none.
	env := hook.Env
	if env == nil {
		env = []string{}
	}

	startMu.Lock()
	defer startMu.Unlock()

	inherited, err := linux.InheritedFDs(3)
	if err != nil {
		return nil, fmt.Errorf("list descriptors to keep from the hook: %w", err)
	}
	defer func() {
		for _, fd := range inherited {
			// Best effort: this fails only if another goroutine closed the
			// descriptor meanwhile, and then there is nothing to restore.
			_ = linux.SetCloseOnExec(fd, false)
		}
	}()
	for _, fd := range inherited {
		if err := linux.SetCloseOnExec(fd, true); err != nil {
			return nil, fmt.Errorf("keep descriptor %d from the hook: %w", fd, err)
		}
	}

	proc, err := os.StartProcess(hook.Path, argv, &os.ProcAttr{
		Env:   env,
		Files: files,
		// A group of its own lets a timeout kill the hook's children too.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) {
			err = pathErr.Err
		}
		return nil, fmt.Errorf("start: %w", err)
	}
	return proc, nil
}

// waitHook waits for proc to exit and reaps it. When ctx ends first it
// sends SIGKILL to proc's process group and reports killed.
func waitHook(ctx context.Context, proc *os.Process) (status *os.ProcessState, killed bool, err error) {
	// mu guards reaping and killed. The group is signalled only before the
	// hook is reaped, because until then its PID, which is also the process
	// group ID, cannot be reused. So the signal never reaches another group.
	var mu sync.Mutex
	reaping := false

	exited := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			if !reaping {
				killed = true
				_ = linux.KillProcessGroup(proc.Pid, unix.SIGKILL)
				// The hook may have left its group with setpgid or setsid.
				_ = proc.Kill()
			}
		case <-exited:
		}
	}()

	waitErr := linux.WaitExitedNoReap(proc.Pid)
	mu.Lock()
	reaping = true
	mu.Unlock()
	close(exited)
	<-stopped

	if waitErr != nil {
		// Without knowing the hook exited, reaping could block forever.
		// Since Go 1.23, Kill signals through a pidfd, which is safe even if
		// the hook was reaped elsewhere. The group is not signalled because
		// its ID may already belong to someone else.
		_ = proc.Kill()
	}
	status, err = proc.Wait()
	if err != nil {
		return nil, killed, fmt.Errorf("wait for hook pid %d: %w", proc.Pid, err)
	}
	return status, killed, nil
}

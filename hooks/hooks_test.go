package hooks

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/internal/linux"
)

// script writes an executable /bin/sh script with body to dir and returns
// its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatalf("write hook script: %v", err)
	}
	return path
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read hook output: %v", err)
	}
	return string(data)
}

func timeout(seconds int) *int { return &seconds }

// readPid reads a PID a hook wrote and makes sure the process is killed
// when the test ends, whatever the outcome.
func readPid(t *testing.T, path string) int {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, path)))
	if err != nil {
		t.Fatalf("parse pid file %s: %v", path, err)
	}
	t.Cleanup(func() {
		if proc, err := os.FindProcess(pid); err == nil {
			_ = proc.Kill()
		}
	})
	return pid
}

// processState returns the state letter of pid from /proc/PID/stat, or
// false when no such process exists.
func processState(pid int) (byte, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain ") ".
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return 0, false
	}
	return data[i+2], true
}

// waitGone polls until pid no longer exists or is a zombie. A SIGKILL
// takes effect asynchronously, so a single look could see it still dying.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		state, ok := processState(pid)
		if !ok || state == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d in state %c after its group was killed, want it gone", pid, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunOrder(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "order")
	var hooks []specs.Hook
	for _, name := range []string{"first", "second", "third"} {
		path := script(t, dir, name, `echo "$1" >> "$2"`)
		hooks = append(hooks, specs.Hook{Path: path, Args: []string{path, name, out}})
	}

	if err := Run(context.Background(), hooks, []byte("{}")); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got, want := readFile(t, out), "first\nsecond\nthird\n"; got != want {
		t.Errorf("hooks ran in order %q, want %q", got, want)
	}
}

func TestRunStateOnStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "state")
	path := script(t, dir, "hook", `cat > "$1"`)
	state := []byte(`{"ociVersion":"1.3.0","id":"c1","status":"creating","pid":42,"bundle":"/b"}`)

	err := Run(context.Background(), []specs.Hook{{Path: path, Args: []string{path, out}}}, state)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}

	if got := readFile(t, out); got != string(state) {
		t.Errorf("hook read stdin %q, want %q", got, state)
	}
}

func TestRunArgsAndEnv(t *testing.T) {
	dir := t.TempDir()
	// /proc/$$/cmdline and environ show exactly what the shell was started
	// with, including argv[0], which a script's $0 would not.
	body := `cat /proc/$$/cmdline > "$0.argv"; cat /proc/$$/environ > "$0.env"`

	tests := []struct {
		name     string
		args     []string
		env      []string
		wantArgv []string
		wantEnv  []string
	}{
		{
			name:     "given",
			args:     []string{"custom-argv0", "-c", body, filepath.Join(dir, "given"), "extra"},
			env:      []string{"A=1", "B=two words", "EMPTY="},
			wantArgv: []string{"custom-argv0", "-c", body, filepath.Join(dir, "given"), "extra"},
			wantEnv:  []string{"A=1", "B=two words", "EMPTY="},
		},
		{
			name:     "nil env",
			args:     []string{"sh", "-c", body, filepath.Join(dir, "nil env")},
			env:      nil,
			wantArgv: []string{"sh", "-c", body, filepath.Join(dir, "nil env")},
			wantEnv:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := specs.Hook{Path: "/bin/sh", Args: tt.args, Env: tt.env}
			if err := Run(context.Background(), []specs.Hook{hook}, nil); err != nil {
				t.Fatalf("Run: %v", err)
			}

			prefix := filepath.Join(dir, tt.name)
			if got := splitNUL(readFile(t, prefix+".argv")); !slices.Equal(got, tt.wantArgv) {
				t.Errorf("argv %q, want %q", got, tt.wantArgv)
			}
			if got := splitNUL(readFile(t, prefix+".env")); !slices.Equal(got, tt.wantEnv) {
				t.Errorf("env %q, want %q", got, tt.wantEnv)
			}
		})
	}
}

func splitNUL(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}

func TestRunEmptyArgsUsesPath(t *testing.T) {
	dir := t.TempDir()
	path := script(t, dir, "hook", `cat /proc/$$/cmdline > "`+dir+`/argv"`)

	if err := Run(context.Background(), []specs.Hook{{Path: path}}, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}

	// The kernel runs a script as "interpreter script-path args...", so
	// argv[0] of the hook shows up as the script path after /bin/sh.
	got := splitNUL(readFile(t, filepath.Join(dir, "argv")))
	if want := []string{"/bin/sh", path}; !slices.Equal(got, want) {
		t.Errorf("argv %q, want %q", got, want)
	}
}

func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	path := script(t, dir, "fail", `echo "no network plugin configured" >&2; echo partial; exit 3`)

	err := Run(context.Background(), []specs.Hook{{Path: path}}, nil)
	if err == nil {
		t.Fatal("Run of a hook that exits 3 returned nil, want an error")
	}

	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("error %v is not an *exec.ExitError", err)
	}
	if got, want := exitErr.ExitCode(), 3; got != want {
		t.Errorf("exit code %d, want %d", got, want)
	}
	for _, want := range []string{"run hook " + path, "exit status 3", "no network plugin configured", "partial"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestRunStopsAtFirstFailure(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	hooks := []specs.Hook{
		{Path: script(t, dir, "fail", "exit 1")},
		{Path: script(t, dir, "touch", `touch "`+marker+`"`)},
	}

	if err := Run(context.Background(), hooks, nil); err == nil {
		t.Fatal("Run returned nil, want the first hook's failure")
	}

	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of marker of the hook after the failure: got %v, want %v", err, os.ErrNotExist)
	}
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	// The background sleep stays in the hook's process group, so it must
	// die with the hook instead of outliving it.
	path := script(t, dir, "slow", `sleep 600 & echo $! > "$1.child"; echo $$ > "$1.hook"; wait`)

	err := Run(context.Background(), []specs.Hook{{Path: path, Args: []string{path, pids}, Timeout: timeout(1)}}, nil)

	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run error %v, want one wrapping ErrTimeout", err)
	}
	if want := "timed out after 1 s"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	waitGone(t, readPid(t, pids+".hook"))
	waitGone(t, readPid(t, pids+".child"))
}

func TestRunContextCancelKills(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "started")
	if err := linux.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("create fifo: %v", err)
	}
	path := script(t, dir, "slow", `echo $$ > "$1"; exec sleep 600`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan error, 1)
	go func() {
		result <- Run(ctx, []specs.Hook{{Path: path, Args: []string{path, fifo}}}, nil)
	}()

	// Opening the fifo blocks until the hook opens it, so the hook is
	// running when the context is cancelled.
	pid := readPid(t, fifo)
	cancel()
	err := <-result

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error %v, want one wrapping context.Canceled", err)
	}
	waitGone(t, pid)
}

func TestRunCancelledBeforeStart(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	err := Run(ctx, []specs.Hook{{Path: script(t, dir, "touch", `touch "`+marker+`"`)}}, nil)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error %v, want one wrapping context.Canceled", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of marker: got %v, want %v", err, os.ErrNotExist)
	}
}

func TestRunLeftoverChildDoesNotBlock(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	// The child inherits the hook's stdin, stdout and stderr and keeps them
	// open. If Run waited for EOF on them, it would not return until the
	// test binary's own timeout.
	path := script(t, dir, "daemon", `sleep 600 & echo $! > "$1"; echo leaving; exit 0`)

	if err := Run(context.Background(), []specs.Hook{{Path: path, Args: []string{path, pidFile}}}, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}

	pid := readPid(t, pidFile)
	if state, ok := processState(pid); !ok || state == 'Z' {
		t.Errorf("leftover child %d: exists %v, state %c; want it still running after Run returned", pid, ok, state)
	}
}

func TestRunAllReportsEveryFailure(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	failA := script(t, dir, "fail-a", "echo first failure >&2; exit 4")
	failB := script(t, dir, "fail-b", "echo second failure >&2; exit 5")
	hooks := []specs.Hook{
		{Path: failA},
		{Path: "relative/hook"},
		{Path: script(t, dir, "touch", `touch "`+marker+`"`)},
		{Path: failB},
	}

	err := RunAll(context.Background(), hooks, nil)
	if err == nil {
		t.Fatal("RunAll returned nil, want three failures")
	}

	for _, want := range []string{
		failA, "exit status 4", "first failure",
		`"relative/hook"`, "path must be absolute",
		failB, "exit status 5", "second failure",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if !errors.Is(err, ErrInvalidHook) {
		t.Errorf("error %v does not wrap ErrInvalidHook", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("hook after the failures did not run: %v", err)
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not a joined error", err)
	}
	if got, want := len(joined.Unwrap()), 3; got != want {
		t.Errorf("RunAll joined %d errors, want %d", got, want)
	}
}

func TestRunRejectsInvalidHooks(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	valid := specs.Hook{Path: script(t, dir, "touch", `touch "`+marker+`"`)}

	tests := []struct {
		name string
		hook specs.Hook
		want string
	}{
		{"relative path", specs.Hook{Path: "bin/hook"}, `invalid hook "bin/hook": path must be absolute`},
		{"empty path", specs.Hook{Path: ""}, `invalid hook "": path must be absolute`},
		{"zero timeout", specs.Hook{Path: "/bin/true", Timeout: timeout(0)}, "timeout 0 must be at least 1 second"},
		{"negative timeout", specs.Hook{Path: "/bin/true", Timeout: timeout(-5)}, "timeout -5 must be at least 1 second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), []specs.Hook{valid, tt.hook}, nil)

			if !errors.Is(err, ErrInvalidHook) {
				t.Fatalf("Run error %v, want one wrapping ErrInvalidHook", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("valid hook ran before the invalid one was rejected: stat got %v, want %v", err, os.ErrNotExist)
			}
		})
	}
}

func TestRunMissingProgram(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-hook")

	err := Run(context.Background(), []specs.Hook{{Path: missing}}, nil)

	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Run error %v, want one wrapping os.ErrNotExist", err)
	}
	if want := "run hook " + missing + ": start: "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestRunOutputCaptureBounded(t *testing.T) {
	dir := t.TempDir()
	// 20 lines of 10 000 bytes each, far over maxCapture.
	path := script(t, dir, "noisy", `i=0; while [ $i -lt 20 ]; do head -c 10000 /dev/zero | tr '\0' x >&2; echo >&2; i=$((i+1)); done; exit 1`)

	err := Run(context.Background(), []specs.Hook{{Path: path}}, nil)

	var hookErr *HookError
	if !errors.As(err, &hookErr) {
		t.Fatalf("Run error %v, want a *HookError", err)
	}
	if got, want := len(hookErr.Stderr), maxCapture+len("..."); got != want {
		t.Errorf("captured %d bytes of stderr, want %d", got, want)
	}
	if got, max := len(err.Error()), 2*maxCapture; got > max {
		t.Errorf("error message is %d bytes, want at most %d", got, max)
	}
}

func TestRunHidesInheritedDescriptors(t *testing.T) {
	dir := t.TempDir()
	leaky, err := os.Open(dir)
	if err != nil {
		t.Fatalf("open directory: %v", err)
	}
	defer leaky.Close()
	fd := int(leaky.Fd())
	if err := linux.SetCloseOnExec(fd, false); err != nil {
		t.Fatalf("clear FD_CLOEXEC on %d: %v", fd, err)
	}
	out := filepath.Join(dir, "fds")
	path := script(t, dir, "list", `ls /proc/$$/fd > "$1"`)

	if err := Run(context.Background(), []specs.Hook{{Path: path, Args: []string{path, out}}}, nil); err != nil {
		t.Fatalf("Run: %v", err)
	}

	hookFDs := strings.Fields(readFile(t, out))
	if slices.Contains(hookFDs, strconv.Itoa(fd)) {
		t.Errorf("hook holds fds %v, want no %d (inherited without FD_CLOEXEC)", hookFDs, fd)
	}
	inherited, err := linux.InheritedFDs(3)
	if err != nil {
		t.Fatalf("list inherited fds: %v", err)
	}
	if !slices.Contains(inherited, fd) {
		t.Errorf("fds without FD_CLOEXEC after Run %v, want %d restored among them", inherited, fd)
	}
}

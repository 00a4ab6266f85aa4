package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// listFDs is a script that prints the container process's open fds. The
// shell tests each path rather than listing the directory, because a
// listing opens an fd of its own.
const listFDs = `for i in $(seq 0 64); do [ -e /proc/$$/fd/$i ] && echo -n "$i "; done; echo`

// openFile returns a file with content, opened for reading.
func openFile(t testing.TB, content string) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fd.txt")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestNoStrayFDs(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell(listFDs)...)
	b.write(t)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := r.command(ctx, "run", "--bundle", b.Dir, r.newID())
	cmd.ExtraFiles = []*os.File{openFile(t, "stray\n"), openFile(t, "stray\n")}
	res := r.exec(cmd)
	if res.Code != 0 {
		t.Fatalf("run: %s", res)
	}
	if got, want := res.Stdout, "0 1 2 \n"; got != want {
		t.Errorf("fds in the container: got %q, want %q", got, want)
	}
}

func TestPreserveFDs(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell(listFDs + "; cat <&3")...)
	b.write(t)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := r.command(ctx, "run", "--preserve-fds", "1", "--bundle", b.Dir, r.newID())
	// fd 3 is preserved, fd 4 is one more than requested and must not
	// reach the container.
	cmd.ExtraFiles = []*os.File{openFile(t, "preserved\n"), openFile(t, "stray\n")}
	res := r.exec(cmd)
	if res.Code != 0 {
		t.Fatalf("run --preserve-fds 1: %s", res)
	}
	if got, want := res.Stdout, "0 1 2 3 \npreserved\n"; got != want {
		t.Errorf("output: got %q, want %q", got, want)
	}
}

func TestListenFDs(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell(`echo "$LISTEN_FDS"; ` + listFDs + "; cat <&3")...)
	b.write(t)
	id := r.newID()
	r.track(id)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	// Socket activation hands fds to the process whose pid is LISTEN_PID,
	// so a shell sets it to its own pid and then becomes the runtime.
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", `LISTEN_FDS=1 LISTEN_PID=$$ exec "$@"`, "sh",
		runtimeBin, "--root", r.root, "run", "--bundle", b.Dir, id)
	cmd.ExtraFiles = []*os.File{openFile(t, "activated\n"), openFile(t, "stray\n")}
	res := r.exec(cmd)
	if res.Code != 0 {
		t.Fatalf("run with LISTEN_FDS=1: %s", res)
	}
	if got, want := res.Stdout, "1\n0 1 2 3 \nactivated\n"; got != want {
		t.Errorf("output: got %q, want %q", got, want)
	}
}

package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nullrun/nullrun/specext"
)

const busybox = "/bin/busybox"

func newTestRuntime(t *testing.T) *Runtime {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: spawns sandboxes with namespaces and cgroups")
	}
	if _, err := os.Stat(busybox); err != nil {
		t.Skipf("needs %s from the busybox-static package: %v", busybox, err)
	}
	r, err := New(Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// spawnOutput runs sb with stdout in a file and returns the exit status
// and the output.
func spawnOutput(t *testing.T, r *Runtime, sb Sandbox) (int, string) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	sb.Stdout = out
	p, err := r.Spawn(sb)
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	status, err := p.Wait()
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return status, string(data)
}

func TestSpawnZeroValueIsNull(t *testing.T) {
	r := newTestRuntime(t)
	// time cannot be nulled on a kernel without the null-namespace
	// branch, so strict mode rejects the zero value there.
	_, err := r.Spawn(Sandbox{Args: []string{busybox, "true"}})
	if err == nil {
		t.Fatalf("Spawn with every setting null: got no error, want time rejected on this kernel")
	}
	if !strings.Contains(err.Error(), "time") {
		t.Errorf("error: got %q, want it to name the time setting", err)
	}

	// A null PID namespace forbids fork, so the shell runs builtins only;
	// $$ is the host PID, not 1.
	sb := Sandbox{Args: []string{busybox, "sh", "-c", "echo $$; exit 3"},
		Share: []specext.Setting{specext.Time}}
	status, out := spawnOutput(t, r, sb)
	if status != 3 {
		t.Errorf("exit status: got %d, want 3", status)
	}
	if pid := strings.TrimSpace(out); pid == "" || pid == "1" {
		t.Errorf("$$: got %q, want the host PID", pid)
	}
	// With a null user the ids read as the overflow id.
	sb.Args = []string{busybox, "id", "-u"}
	if _, out := spawnOutput(t, r, sb); strings.TrimSpace(out) != "65534" {
		t.Errorf("id -u: got %q, want 65534", out)
	}
	if left := containerDirs(t, r); len(left) != 0 {
		t.Errorf("state root after Wait: got %q, want no container directories", left)
	}
}

func TestSpawnGrants(t *testing.T) {
	r := newTestRuntime(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	outPath := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(in, []byte("granted line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outPath, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	sb := Sandbox{
		Args: []string{busybox, "sh", "-c",
			`read line <&3; echo "got: $line" >&4; echo escape >/tmp/x || echo denied`},
		Share: []specext.Setting{specext.Time},
		Grants: []specext.Grant{
			{FD: 3, Kind: specext.GrantPath, Path: in},
			{FD: 4, Kind: specext.GrantPath, Path: outPath, Writable: true},
		},
	}
	status, out := spawnOutput(t, r, sb)
	if status != 0 {
		t.Errorf("exit status: got %d, want 0", status)
	}
	if !strings.Contains(out, "denied") {
		t.Errorf("stdout: got %q, want the write outside the grants denied", out)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "got: granted line\n" {
		t.Errorf("output file: got %q, want %q", data, "got: granted line\n")
	}
}

func TestSpawnShareAndFresh(t *testing.T) {
	r := newTestRuntime(t)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	sb := Sandbox{
		Args: []string{busybox, "readlink", "/proc/self/ns/net"},
		Share: []specext.Setting{specext.Time, specext.Mount, specext.Root, specext.Cwd,
			specext.PID, specext.User},
		Fresh: []specext.Setting{specext.Network},
	}
	_, out := spawnOutput(t, r, sb)
	if got := strings.TrimSpace(out); got == "" || got == host {
		t.Errorf("net namespace: got %q, want a fresh one (host %q)", got, host)
	}
}

func TestSpawnInvalid(t *testing.T) {
	r := newTestRuntime(t)
	tests := []struct {
		name string
		sb   Sandbox
		want string
	}{
		{"no args", Sandbox{}, "Args is empty"},
		{"unknown setting", Sandbox{Args: []string{busybox}, Share: []specext.Setting{"disk"}}, `"disk"`},
		{"twice", Sandbox{Args: []string{busybox},
			Share: []specext.Setting{specext.Time}, Fresh: []specext.Setting{specext.Time}}, "twice"},
		{"root has no namespace", Sandbox{Args: []string{busybox},
			Fresh: []specext.Setting{specext.Root}}, "no namespace"},
		{"dynamic program", Sandbox{Args: []string{"/bin/ls"},
			Share: []specext.Setting{specext.Time}}, "interpreter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Spawn(tt.sb)
			if err == nil {
				t.Fatalf("Spawn: got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error: got %q, want it to contain %q", err, tt.want)
			}
		})
	}
	if left := containerDirs(t, r); len(left) != 0 {
		t.Errorf("state root after failed spawns: got %q, want no container directories", left)
	}
}

// containerDirs lists what the state root holds besides the runtime's
// probe cache.
func containerDirs(t *testing.T, r *Runtime) []string {
	t.Helper()
	entries, err := os.ReadDir(r.root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != ".nullns-probes.json" {
			names = append(names, e.Name())
		}
	}
	return names
}

// BenchmarkSpawn measures a whole null sandbox: create, start, wait and
// delete of busybox true with every setting null but time.
func BenchmarkSpawn(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: spawns sandboxes with namespaces and cgroups")
	}
	r, err := New(Options{Root: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	sb := Sandbox{Args: []string{busybox, "true"}, Share: []specext.Setting{specext.Time},
		Stdin: devnull, Stdout: devnull, Stderr: devnull}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := r.Spawn(sb)
		if err != nil {
			b.Fatal(err)
		}
		if status, err := p.Wait(); err != nil || status != 0 {
			b.Fatalf("Wait: status %d, %v", status, err)
		}
	}
}

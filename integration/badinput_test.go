package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Each case runs a broken bundle and expects a non-zero exit, a one-line
// error naming the offending value, and nothing left behind.
func TestBadBundle(t *testing.T) {
	tests := []struct {
		name string
		// runcGap, when set, describes how runc 1.1.5 gets this case wrong;
		// the case is then skipped for runc only.
		runcGap string
		// runcVague, when set, records that runc 1.1.5 fails without naming
		// the value; only that part of the check is then left out for
		// runc.
		runcVague string
		edit      func(t *testing.T, b *bundle)
		value     string
	}{
		{
			name:  "missing config.json",
			edit:  func(t *testing.T, b *bundle) { removeFile(t, filepath.Join(b.Dir, "config.json")) },
			value: "config.json",
		},
		{
			name:      "invalid config.json",
			runcVague: `runc 1.1.5 reports only "unexpected EOF"`,
			edit:      func(t *testing.T, b *bundle) { writeFile(t, filepath.Join(b.Dir, "config.json"), "{") },
			value:     "config.json",
		},
		{
			name:    "ociVersion too old",
			runcGap: "runc 1.1.5 runs a bundle with ociVersion 0.1.0",
			edit:    func(t *testing.T, b *bundle) { b.Spec.Version = "0.1.0"; b.write(t) },
			value:   "0.1.0",
		},
		{
			name:    "ociVersion too new",
			runcGap: "runc 1.1.5 runs a bundle with ociVersion 2.0.0",
			edit:    func(t *testing.T, b *bundle) { b.Spec.Version = "2.0.0"; b.write(t) },
			value:   "2.0.0",
		},
		{
			name:  "missing rootfs",
			edit:  func(t *testing.T, b *bundle) { removeFile(t, b.Rootfs); b.write(t) },
			value: "rootfs",
		},
		{
			name:  "empty args",
			edit:  func(t *testing.T, b *bundle) { b.Spec.Process.Args = []string{}; b.write(t) },
			value: "args",
		},
		{
			name:  "missing program",
			edit:  func(t *testing.T, b *bundle) { b.Spec.Process.Args = []string{"/bin/no-such-program"}; b.write(t) },
			value: "/bin/no-such-program",
		},
		{
			name:  "cwd is a file",
			edit:  func(t *testing.T, b *bundle) { b.Spec.Process.Cwd = "/etc/passwd"; b.write(t) },
			value: "/etc/passwd",
		},
		{
			name: "env entry without equals sign",
			edit: func(t *testing.T, b *bundle) {
				b.Spec.Process.Env = append(b.Spec.Process.Env, "NOEQUALS")
				b.write(t)
			},
			value: "NOEQUALS",
		},
		{
			name: "env entry with empty name",
			edit: func(t *testing.T, b *bundle) {
				b.Spec.Process.Env = append(b.Spec.Process.Env, "=x")
				b.write(t)
			},
			value: "=x",
		},
		{
			name:      "rlimit soft above hard",
			runcVague: `runc 1.1.5 reports "rlimit type 7"`,
			edit: func(t *testing.T, b *bundle) {
				b.Spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 2000, Hard: 1000}}
				b.write(t)
			},
			value: "RLIMIT_NOFILE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.runcGap != "" {
				skipIfRuntime(t, "runc", tt.runcGap)
			}
			r := newRuntime(t)
			b := r.newBundle("true")
			b.write(t)
			tt.edit(t, b)
			res := r.run("run", "--bundle", b.Dir, r.newID())
			if res.Code == 0 {
				t.Fatalf("run: got exit 0, want an error naming %q (%s)", tt.value, res)
			}
			requireOneLineError(t, res, namedValue(t, tt.value, tt.runcVague))
			r.requireNoLeaks()
		})
	}
}

// namedValue returns value, or "" with a log line when the runtime is
// runc and runcVague is set.
func namedValue(t testing.TB, value, runcVague string) string {
	t.Helper()
	if runcVague != "" && runtimeName() == "runc" {
		t.Logf("not checking that the error names %q: %s; nullrun must name it", value, runcVague)
		return ""
	}
	return value
}

func TestInvalidID(t *testing.T) {
	const vague = `runc 1.1.5 reports "invalid container ID format"`
	tests := []struct {
		name, id, value, runcVague string
	}{
		{"dot", ".", `"."`, vague},
		{"dot dot", "..", `".."`, vague},
		{"slash", "a/b", "a/b", vague},
		{"empty", "", "id", ""},
		{"too long", strings.Repeat("a", 256), "255", "runc 1.1.5 fails in lstat with the whole ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t)
			b := r.newBundle("true")
			b.write(t)
			res := r.run("create", "--bundle", b.Dir, tt.id)
			if res.Code == 0 {
				t.Fatalf("create %q: got exit 0, want an error", tt.id)
			}
			requireOneLineError(t, res, namedValue(t, tt.value, tt.runcVague))
			r.requireNoLeaks()
		})
	}
}

func TestDuplicateID(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	id := r.create(b)
	res := r.run("create", "--bundle", b.Dir, id)
	if res.Code == 0 {
		t.Fatalf("second create of %s: got exit 0, want an error", id)
	}
	requireOneLineError(t, res, "already exists")
	if st := r.state(id); st.Status != "created" {
		t.Errorf("first container after the failed create: got status %q, want %q", st.Status, "created")
	}
}

func TestConcurrentCreateSameID(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle("sleep", "1000")
	b.write(t)
	id := r.newID()

	const racers = 2
	results := make([]result, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.run("create", "--bundle", b.Dir, id)
		}()
	}
	wg.Wait()

	wins := 0
	for _, res := range results {
		if res.Code == 0 {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("concurrent creates of %s: got %d successes, want 1 (%v)", id, wins, results)
	}
	if st := r.state(id); st.Status != "created" {
		t.Errorf("winning container: got status %q, want %q", st.Status, "created")
	}
	for _, res := range results {
		if res.Code != 0 && !strings.Contains(res.Stderr, "already exists") {
			t.Errorf("losing create: got stderr %q, want it to contain %q", res.Stderr, "already exists")
		}
	}
}

func removeFile(t testing.TB, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRlimitRefusedByKernelFailsCreate(t *testing.T) {
	r := newRuntime(t)
	data, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	nrOpen, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	// No process can raise NOFILE above fs.nr_open, root or not.
	b := r.newBundle("true")
	b.Spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: nrOpen + 1, Hard: nrOpen + 1},
	}
	b.write(t)
	res := r.run("create", "--bundle", b.Dir, r.newID())
	requireOneLineError(t, res, namedValue(t, "RLIMIT_NOFILE", "runc 1.1.5 names the rlimit by number"))
	r.requireNoLeaks()
}

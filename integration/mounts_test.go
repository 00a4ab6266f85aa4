package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountinfoSeparator divides the container's mountinfo from the rest of
// a script's output.
const mountinfoSeparator = "--- end of mountinfo ---"

// containerMount is one line of /proc/self/mountinfo.
type containerMount struct {
	Target    string
	Options   []string // per-mount options such as ro, nosuid
	Optional  []string // propagation fields such as shared:N, master:N
	FSType    string
	SuperOpts []string
	RawLine   string
}

// withMountinfo prefixes script so its output starts with the container's
// mountinfo; splitMountinfo undoes it.
func withMountinfo(script string) []string {
	return shell("cat /proc/self/mountinfo; echo '" + mountinfoSeparator + "'; " + script)
}

// splitMountinfo parses the mountinfo printed by a withMountinfo script
// and returns it with the rest of the output.
func splitMountinfo(t testing.TB, out string) (map[string]containerMount, string) {
	t.Helper()
	info, rest, ok := strings.Cut(out, mountinfoSeparator+"\n")
	if !ok {
		t.Fatalf("container output has no mountinfo: %q", out)
	}
	mounts := map[string]containerMount{}
	for _, line := range strings.Split(strings.TrimSpace(info), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields := strings.Fields(pre)
		super := strings.Fields(post)
		if !ok || len(fields) < 6 || len(super) < 3 {
			t.Fatalf("parse mountinfo line %q", line)
		}
		// A later mount on the same target hides an earlier one.
		mounts[fields[4]] = containerMount{
			Target:    fields[4],
			Options:   strings.Split(fields[5], ","),
			Optional:  fields[6:],
			FSType:    super[0],
			SuperOpts: strings.Split(super[2], ","),
			RawLine:   line,
		}
	}
	return mounts, rest
}

// requireMount returns the mount at target, failing t when there is none.
func requireMount(t testing.TB, mounts map[string]containerMount, target string) containerMount {
	t.Helper()
	m, ok := mounts[target]
	if !ok {
		t.Fatalf("mount at %s: got none, want one", target)
	}
	return m
}

func TestMounts(t *testing.T) {
	hostDir := t.TempDir()
	hostFile := filepath.Join(hostDir, "file.txt")
	if err := os.WriteFile(hostFile, []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostDir, "run.sh"), []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		mount    specs.Mount
		script   string
		fsType   string
		options  []string // expected among the per-mount or super options
		wantRest string
	}{
		{
			name:     "bind file read-only",
			mount:    specs.Mount{Destination: "/mnt/file.txt", Source: hostFile, Options: []string{"bind", "ro"}},
			script:   "cat /mnt/file.txt; echo x 2>/dev/null >/mnt/file.txt && echo writable || echo read-only",
			options:  []string{"ro"},
			wantRest: "from host\nread-only\n",
		},
		{
			name:     "bind dir",
			mount:    specs.Mount{Destination: "/mnt/dir", Source: hostDir, Type: "bind", Options: []string{"bind"}},
			script:   "cat /mnt/dir/file.txt; /mnt/dir/run.sh",
			options:  []string{"rw"},
			wantRest: "from host\nran\n",
		},
		{
			name:     "nosuid nodev noexec",
			mount:    specs.Mount{Destination: "/mnt/dir", Source: hostDir, Options: []string{"bind", "nosuid", "nodev", "noexec"}},
			script:   "/mnt/dir/run.sh 2>/dev/null || echo not run",
			options:  []string{"nosuid", "nodev", "noexec"},
			wantRest: "not run\n",
		},
		{
			name:     "tmpfs size and mode",
			mount:    specs.Mount{Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=1770"}},
			script:   "stat -c %a /mnt/tmp",
			fsType:   "tmpfs",
			options:  []string{"size=1024k", "mode=1770"},
			wantRest: "1770\n",
		},
		{
			name:     "proc",
			mount:    specs.Mount{Destination: "/mnt/proc", Type: "proc", Source: "proc"},
			script:   "test -f /mnt/proc/self/status && echo ok",
			fsType:   "proc",
			wantRest: "ok\n",
		},
		{
			name:   "sysfs",
			mount:  specs.Mount{Destination: "/mnt/sys", Type: "sysfs", Source: "sysfs", Options: []string{"ro", "nosuid"}},
			script: "test -d /mnt/sys/kernel && echo ok",
			fsType: "sysfs", options: []string{"ro", "nosuid"},
			wantRest: "ok\n",
		},
		{
			name:     "devpts",
			mount:    specs.Mount{Destination: "/mnt/pts", Type: "devpts", Source: "devpts", Options: []string{"newinstance", "ptmxmode=0666", "mode=0620"}},
			script:   "test -c /mnt/pts/ptmx && echo ok",
			fsType:   "devpts",
			options:  []string{"ptmxmode=666", "mode=620"},
			wantRest: "ok\n",
		},
		{
			name:     "mqueue",
			mount:    specs.Mount{Destination: "/mnt/mq", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			script:   "echo ok",
			fsType:   "mqueue",
			options:  []string{"nosuid", "noexec", "nodev"},
			wantRest: "ok\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRuntime(t)
			b := r.newBundle(withMountinfo(tt.script)...)
			b.Spec.Mounts = append(b.Spec.Mounts, tt.mount)
			mounts, rest := splitMountinfo(t, r.mustRunBundle(b))
			m := requireMount(t, mounts, tt.mount.Destination)
			if tt.fsType != "" && m.FSType != tt.fsType {
				t.Errorf("fs type at %s: got %q, want %q", m.Target, m.FSType, tt.fsType)
			}
			all := append(append([]string{}, m.Options...), m.SuperOpts...)
			for _, opt := range tt.options {
				if !contains(all, opt) {
					t.Errorf("options at %s: got %q, want %q among them", m.Target, all, opt)
				}
			}
			if rest != tt.wantRest {
				t.Errorf("output: got %q, want %q", rest, tt.wantRest)
			}
		})
	}
}

func TestMountRecursiveBind(t *testing.T) {
	requireRoot(t)
	hostDir := t.TempDir()
	sub := filepath.Join(hostDir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", sub, err)
	}
	t.Cleanup(func() { unix.Unmount(sub, unix.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(sub, "marker"), []byte("submount\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct{ option, want string }{
		{"rbind", "submount\n"},
		{"bind", "absent\n"},
	} {
		t.Run(tt.option, func(t *testing.T) {
			r := newRuntime(t)
			b := r.newBundle(shell("cat /mnt/dir/sub/marker 2>/dev/null || echo absent")...)
			b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{
				Destination: "/mnt/dir", Source: hostDir, Options: []string{tt.option},
			})
			if got := r.mustRunBundle(b); got != tt.want {
				t.Errorf("submount through %s: got %q, want %q", tt.option, got, tt.want)
			}
		})
	}
}

func TestRootReadonly(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(withMountinfo("touch /newfile 2>/dev/null && echo writable || echo read-only; touch /tmp/x && echo tmp-ok")...)
	b.Spec.Root.Readonly = true
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
	mounts, rest := splitMountinfo(t, r.mustRunBundle(b))
	if root := requireMount(t, mounts, "/"); !contains(root.Options, "ro") {
		t.Errorf("root options: got %q, want ro", root.Options)
	}
	if want := "read-only\ntmp-ok\n"; rest != want {
		t.Errorf("output: got %q, want %q", rest, want)
	}
}

func TestRootfsPropagation(t *testing.T) {
	// Whether a slave root shows a master: field depends on the host mount
	// under the bundle, so slave and private are checked only for not
	// being shared: a mount made in the container must not reach the host.
	for _, tt := range []struct {
		propagation string
		wantShared  bool
	}{
		{"shared", true},
		{"slave", false},
		{"private", false},
	} {
		t.Run(tt.propagation, func(t *testing.T) {
			if tt.propagation == "shared" {
				skipIfRuntime(t, "runc", "runc 1.1.5 leaves the container's root private with rootfsPropagation shared; crun 1.8.1 makes it shared")
			}
			r := newRuntime(t)
			b := r.newBundle(withMountinfo("true")...)
			b.Spec.Linux.RootfsPropagation = tt.propagation
			mounts, _ := splitMountinfo(t, r.mustRunBundle(b))
			root := requireMount(t, mounts, "/")
			got := strings.Join(root.Optional, " ")
			if shared := strings.Contains(got, "shared:"); shared != tt.wantShared {
				t.Errorf("root propagation fields: got %q, want shared: %v", got, tt.wantShared)
			}
		})
	}
}

func TestMaskedAndReadonlyPaths(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell(strings.Join([]string{
		"cat /etc/secret; echo",
		"ls /secretdir",
		"touch /protected/new 2>/dev/null && echo readonly-writable",
		"cat /protected/file",
	}, "; "))...)
	b.writeRootfsFile(t, "etc/secret", "file secret", 0o644)
	b.writeRootfsFile(t, "secretdir/key", "dir secret", 0o644)
	b.writeRootfsFile(t, "protected/file", "visible\n", 0o644)
	b.Spec.Linux.MaskedPaths = []string{"/etc/secret", "/secretdir"}
	b.Spec.Linux.ReadonlyPaths = []string{"/protected"}
	if got, want := r.mustRunBundle(b), "\nvisible\n"; got != want {
		t.Errorf("output: got %q, want %q", got, want)
	}
}

func TestNoPivot(t *testing.T) {
	r := newRuntime(t)
	b := r.newBundle(shell("echo hello; ls /")...)
	got := r.mustRunBundle(b, "--no-pivot")
	if !strings.HasPrefix(got, "hello\n") || !strings.Contains(got, "bin\n") {
		t.Errorf("output with --no-pivot: got %q, want hello and the rootfs listing", got)
	}
}

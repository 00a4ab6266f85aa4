package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// bundle is an OCI bundle in a temp directory: config.json from the
// runtime's own `spec` command, edited through Spec, and a busybox rootfs.
type bundle struct {
	Dir    string
	Rootfs string
	Spec   *specs.Spec
}

// openTempDir returns t.TempDir() with it and its parent made 0755, so
// that processes whose root is mapped to an unprivileged host uid (a user
// namespace) can still reach the bundle.
func openTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// newBundle makes a bundle whose process runs args without a terminal on
// a writable rootfs. Everything else is the runtime's `spec` default.
func (r *testRuntime) newBundle(args ...string) *bundle {
	r.t.Helper()
	dir := openTempDir(r.t)
	r.mustRun("spec", "--bundle", dir)
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		r.t.Fatalf("read the spec output: %v", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		r.t.Fatalf("parse the spec output: %v", err)
	}
	b := &bundle{Dir: dir, Rootfs: filepath.Join(dir, "rootfs"), Spec: &spec}
	makeRootfs(r.t, b.Rootfs)
	spec.Root.Path = "rootfs"
	spec.Root.Readonly = false
	spec.Process.Terminal = false
	spec.Process.Args = args

	r.mu.Lock()
	r.bundles = append(r.bundles, dir)
	r.mu.Unlock()
	return b
}

// write stores b.Spec as the bundle's config.json.
func (b *bundle) write(t testing.TB) {
	t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		t.Fatalf("encode config.json: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// addNamespace adds a namespace of kind to the spec, replacing one of the
// same kind.
func (b *bundle) addNamespace(kind specs.LinuxNamespaceType, path string) {
	b.removeNamespace(kind)
	b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces,
		specs.LinuxNamespace{Type: kind, Path: path})
}

// removeNamespace drops the namespace of kind, so the container shares
// the runtime's.
func (b *bundle) removeNamespace(kind specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range b.Spec.Linux.Namespaces {
		if ns.Type != kind {
			kept = append(kept, ns)
		}
	}
	b.Spec.Linux.Namespaces = kept
}

// writeRootfsFile creates name (relative to the rootfs) with content.
func (b *bundle) writeRootfsFile(t testing.TB, name, content string, mode os.FileMode) {
	t.Helper()
	path := filepath.Join(b.Rootfs, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// shell returns the args that run script with busybox sh.
func shell(script string) []string {
	return []string{"sh", "-c", script}
}

package runtime

import (
	"github.com/nullrun/nullrun/internal/linux"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nullrun/nullrun/specext"
)

func TestListenSocketRemoveOnlyItsOwn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.sock")
	og, err := openGrant(specext.Grant{FD: 3, Kind: specext.GrantUnixListen, Path: path})
	if err != nil {
		t.Fatalf("open listen grant: %v", err)
	}
	og.file.Close()
	s := listenSocket{Path: path, ID: og.socket}

	// Another file in its place is left alone.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("not the socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.remove()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("a regular file at the socket's path: got %v after remove, want it kept", err)
	}

	// A symlinked parent is not followed, even to the socket itself.
	os.Remove(path)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	parent, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	id, isSocket, err := linux.LstatID(parent, "app.sock")
	if err != nil || !isSocket {
		t.Fatalf("socket at %s: got %v (socket %v), want a socket", path, err, isSocket)
	}
	listenSocket{Path: filepath.Join(link, "app.sock"), ID: id}.remove()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("socket behind a symlinked parent: got %v after remove, want it kept", err)
	}

	// The socket itself, unchanged, is removed.
	listenSocket{Path: path, ID: id}.remove()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("own socket: got %v after remove, want it gone", err)
	}
}

func TestGrantRejectsSpecialFiles(t *testing.T) {
	for _, path := range []string{"/dev/null", "/dev/zero"} {
		_, err := openGrant(specext.Grant{FD: 3, Kind: specext.GrantPath, Path: path})
		if err == nil {
			t.Errorf("grant %s: got no error, want a character device rejected", path)
		}
	}
}

func TestGrantRefusesSymlinksAndKernelFiles(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		g    specext.Grant
		want string
	}{
		{"symlinked parent", specext.Grant{FD: 3, Kind: specext.GrantPath,
			Path: filepath.Join(dir, "link", "f")}, "must not contain symlinks"},
		{"symlink itself", specext.Grant{FD: 3, Kind: specext.GrantPath,
			Path: filepath.Join(dir, "link")}, "must not contain symlinks"},
		{"procfs file", specext.Grant{FD: 3, Kind: specext.GrantPath,
			Path: "/proc/sys/kernel/core_pattern"}, "proc"},
		{"socket behind a symlink", specext.Grant{FD: 3, Kind: specext.GrantUnixListen,
			Path: filepath.Join(dir, "link", "s.sock")}, "must not contain symlinks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			og, err := openGrant(tt.g)
			if err == nil {
				og.file.Close()
				t.Fatalf("open grant %s: got no error, want one containing %q", tt.g.Path, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error: got %q, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(real, "s.sock")); !os.IsNotExist(err) {
		t.Errorf("socket behind the symlink: got %v, want nothing bound", err)
	}
}

package cgroup

import (
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/systemd"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPlaceCgroup(t *testing.T) {
	tests := []struct {
		name                   string
		systemd                bool
		path                   string
		wantParent, wantPrefix string
		wantName, wantPath     string
		wantErr                bool
	}{
		{name: "cgroupfs default", path: "", wantName: "ctr"},
		{name: "cgroupfs absolute", path: "/a/b", wantPath: "/a/b"},
		{name: "cgroupfs relative", path: "a/b", wantPath: "a/b"},
		{name: "cgroupfs NUL", path: "a\x00b", wantErr: true},
		{name: "systemd default", systemd: true, wantPrefix: "nullrun", wantName: "ctr"},
		{name: "systemd triple", systemd: true, path: "system.slice:docker:1234",
			wantParent: "system.slice", wantPrefix: "docker", wantName: "1234"},
		{name: "systemd no colons", systemd: true, path: "/a/b", wantErr: true},
		{name: "systemd empty name", systemd: true, path: "system.slice:docker:", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &cgroups.Cgroup{Systemd: tt.systemd}
			err := placeCgroup(c, "ctr", tt.path)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "linux.cgroupsPath") {
					t.Fatalf("got error %v, want ErrInvalid naming linux.cgroupsPath", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("placeCgroup: %v", err)
			}
			got := [4]string{c.Parent, c.ScopePrefix, c.Name, c.Path}
			want := [4]string{tt.wantParent, tt.wantPrefix, tt.wantName, tt.wantPath}
			if got != want {
				t.Errorf("got parent, prefix, name, path %q, want %q", got, want)
			}
		})
	}
}

func TestNewSystemdNotRunning(t *testing.T) {
	if systemd.IsRunningSystemd() {
		t.Skip("needs a host where systemd is not PID 1")
	}
	_, err := New("ctr", &specs.Linux{}, true)
	if !errors.Is(err, ErrSystemdNotRunning) {
		t.Fatalf("got error %v, want ErrSystemdNotRunning", err)
	}
	prefix := "systemd cgroup driver requested (--systemd-cgroup) but systemd is not running: "
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("got message %q, want it to start with %q", err, prefix)
	}
}

// hostKey returns the Paths key of a controller every layout has: pids on
// v1 and hybrid hosts, the unified directory on v2 hosts.
func hostKey() string {
	if cgroups.IsCgroup2UnifiedMode() {
		return ""
	}
	return "pids"
}

func TestNewDefaultPathIsBelowOwnCgroup(t *testing.T) {
	m, err := New("ctr", nil, false)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	key := hostKey()
	own, err := cgroups.GetOwnCgroupPath(key)
	if err != nil {
		t.Fatalf("find own %q cgroup: %v", key, err)
	}
	if got, want := m.Paths()[key], filepath.Join(own, "ctr"); got != want {
		t.Errorf("path of %q: got %q, want %q", key, got, want)
	}
}

func TestNewAbsolutePathIsBelowRoot(t *testing.T) {
	m, err := New("ctr", &specs.Linux{CgroupsPath: "/nullrun-unit/ctr"}, false)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	key := hostKey()
	got := m.Paths()[key]
	if !strings.HasSuffix(got, "/nullrun-unit/ctr") || !strings.HasPrefix(got, "/sys/fs/cgroup/") {
		t.Errorf("path of %q: got %q, want /sys/fs/cgroup/.../nullrun-unit/ctr", key, got)
	}
	if own, _ := cgroups.GetOwnCgroup(key); own != "/" && strings.Contains(got, own) {
		t.Errorf("path of %q: got %q, want it outside the caller's cgroup %q", key, got, own)
	}
}

func TestSavedRoundTrip(t *testing.T) {
	linux := &specs.Linux{
		CgroupsPath: "/nullrun-unit/ctr",
		Resources:   &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(42))}},
	}
	m, err := New("ctr", linux, false)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	m.config.Resources.Freezer = cgroups.Frozen

	data, err := json.Marshal(m.Saved())
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var saved Saved
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	loaded, err := Load(saved)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	if got, want := loaded.Paths(), m.Paths(); !maps.Equal(got, want) {
		t.Errorf("paths: got %v, want %v", got, want)
	}
	if got := loaded.config.Resources.PidsLimit; got == nil || *got != 42 {
		t.Errorf("PidsLimit: got %v, want 42", got)
	}
	if got, want := len(loaded.config.Resources.Devices), len(defaultRules); got != want {
		t.Errorf("device rules: got %d, want %d", got, want)
	}
	if got := loaded.config.Resources.Freezer; got != cgroups.Undefined {
		t.Errorf("Freezer: got %q, want it left out of the saved state", got)
	}
}

func TestLoadRejectsEmptyState(t *testing.T) {
	if _, err := Load(Saved{}); err == nil {
		t.Fatal("got no error, want one for a state without configuration")
	}
}

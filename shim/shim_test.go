package shim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/nullrun/nullrun/runtime"
)

func TestDecodeOptionsTOML(t *testing.T) {
	for _, tt := range []struct {
		name        string
		body        string
		want        Options
		wantIgnored []string
		wantErr     bool
	}{
		{name: "empty"},
		{
			name: "known keys",
			body: "Root = \"/run/x\"\nSystemdCgroup = true\n",
			want: Options{Root: "/run/x", SystemdCgroup: true},
		},
		{
			name:        "runc keys ignored",
			body:        "BinaryName = \"/usr/bin/runc\"\nShimCgroup = \"\"\nRoot = \"/r\"\n",
			want:        Options{Root: "/r"},
			wantIgnored: []string{"BinaryName", "ShimCgroup"},
		},
		{name: "relative root", body: "Root = \"run\"\n", wantErr: true},
		{name: "invalid toml", body: "Root = \n", wantErr: true},
		{name: "wrong type", body: "SystemdCgroup = \"yes\"\n", wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ignored, err := decodeOptionsTOML([]byte(tt.body))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got options %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got options %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(ignored, tt.wantIgnored) {
				t.Errorf("got ignored keys %q, want %q", ignored, tt.wantIgnored)
			}
		})
	}
}

func TestParseOptionsAny(t *testing.T) {
	opts, ignored, err := parseOptions(nil)
	if err != nil || opts != (Options{}) || ignored != nil {
		t.Errorf("nil options: got %+v, %q, %v, want defaults", opts, ignored, err)
	}

	a, err := typeurl.MarshalAnyToProto(&runtimeoptions.Options{ConfigBody: []byte("Root = \"/body\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	opts, _, err = parseOptions(a)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Root != "/body" {
		t.Errorf("config body: got Root %q, want /body", opts.Root)
	}

	path := filepath.Join(t.TempDir(), "options.toml")
	if err := os.WriteFile(path, []byte("Root = \"/file\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err = typeurl.MarshalAnyToProto(&runtimeoptions.Options{ConfigPath: path, ConfigBody: []byte("Root = \"/body\"\n")})
	if err != nil {
		t.Fatal(err)
	}
	opts, _, err = parseOptions(a)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Root != "/file" {
		t.Errorf("config path: got Root %q, want /file from the file", opts.Root)
	}

	other, err := anypb.New(&runtimeoptions.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.TypeUrl = "example.com/unknown.Type"
	if _, _, err := parseOptions(other); err == nil {
		t.Errorf("unknown options type: got no error, want one")
	}
}

func TestOptionsStateRoot(t *testing.T) {
	if got, want := (Options{}).stateRoot("k8s.io"), "/run/containerd/nullrun/k8s.io"; got != want {
		t.Errorf("default: got %s, want %s", got, want)
	}
	if got, want := (Options{Root: "/x"}).stateRoot("default"), "/x/default"; got != want {
		t.Errorf("with Root: got %s, want %s", got, want)
	}
}

func TestBundleOptionsRoundTrip(t *testing.T) {
	bundle := t.TempDir()
	got, err := readBundleOptions(bundle)
	if err != nil || got != (Options{}) {
		t.Fatalf("missing file: got %+v, %v, want defaults", got, err)
	}
	want := Options{Root: "/r", SystemdCgroup: true}
	if err := writeBundleOptions(bundle, want); err != nil {
		t.Fatal(err)
	}
	if got, err = readBundleOptions(bundle); err != nil || got != want {
		t.Errorf("got %+v, %v, want %+v", got, err, want)
	}
}

// defaultSpecMounts are the mounts of ctr's default spec, abridged.
func defaultSpecMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
		{Destination: "/run", Type: "tmpfs", Source: "tmpfs"},
	}
}

func TestFitNullSpec(t *testing.T) {
	for _, tt := range []struct {
		null         string
		wantMounts   []string
		wantHostname string
	}{
		{null: "", wantMounts: []string{"/proc", "/dev", "/sys/fs/cgroup", "/run"}, wantHostname: "box"},
		{null: "mount", wantHostname: "box"},
		{null: "root", wantHostname: "box"},
		{null: "all"},
		{null: "pid", wantMounts: []string{"/dev", "/sys/fs/cgroup", "/run"}, wantHostname: "box"},
		{null: "cgroup,network", wantMounts: []string{"/proc", "/dev", "/run"}, wantHostname: "box"},
		{null: "uts", wantMounts: []string{"/proc", "/dev", "/sys/fs/cgroup", "/run"}},
		{null: "bogus", wantMounts: []string{"/proc", "/dev", "/sys/fs/cgroup", "/run"}, wantHostname: "box"},
	} {
		t.Run(tt.null, func(t *testing.T) {
			spec := &specs.Spec{Hostname: "box", Mounts: defaultSpecMounts()}
			if tt.null != "" {
				spec.Annotations = map[string]string{"dev.nullrun.null": tt.null}
			}
			changes := fitNullSpec(spec)
			var got []string
			for _, m := range spec.Mounts {
				got = append(got, m.Destination)
			}
			if !slices.Equal(got, tt.wantMounts) {
				t.Errorf("got mounts %q, want %q", got, tt.wantMounts)
			}
			if spec.Hostname != tt.wantHostname {
				t.Errorf("got hostname %q, want %q", spec.Hostname, tt.wantHostname)
			}
			wantChanges := 4 - len(tt.wantMounts)
			if tt.wantHostname == "" {
				wantChanges++
			}
			if len(changes) != wantChanges {
				t.Errorf("got changes %q, want %d lines", changes, wantChanges)
			}
		})
	}
}

func TestFitNullBundleRewritesConfig(t *testing.T) {
	bundle := t.TempDir()
	config := `{"ociVersion":"1.2.0","annotations":{"dev.nullrun.null":"mount"},` +
		`"mounts":[{"destination":"/proc","type":"proc","source":"proc"}]}`
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err := fitNullBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 {
		t.Errorf("got changes %q, want one", changes)
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), `"destination"`) {
		t.Errorf("got config %s after fitting, want no mounts", data)
	}
	entries, _ := os.ReadDir(bundle)
	if len(entries) != 1 {
		t.Errorf("got %d files in the bundle, want only config.json", len(entries))
	}
}

func TestMetricsV1(t *testing.T) {
	s := &runtime.Stats{
		CPU:    runtime.CPUStats{Usage: runtime.CPUUsage{Total: 5000, Kernel: 2000, User: 3000, Percpu: []uint64{1, 2}}},
		Memory: runtime.MemoryStats{Cache: 7, Usage: runtime.MemoryEntry{Usage: 100, Limit: 200, Max: 150}, Raw: map[string]uint64{"rss": 42, "total_rss": 43}},
		Pids:   runtime.PidsStats{Current: 3, Limit: 10},
		Blkio: runtime.BlkioStats{IoServiceBytesRecursive: []runtime.BlkioEntry{
			{Major: 8, Minor: 0, Op: "Read", Value: 512}}},
		Hugetlb: map[string]runtime.HugetlbStats{"2MB": {Usage: 4, Max: 5, Failcnt: 1}},
	}
	m := metricsV1(s)
	if m.Pids.Current != 3 || m.Pids.Limit != 10 {
		t.Errorf("got pids %+v, want current 3, limit 10", m.Pids)
	}
	if m.CPU.Usage.Total != 5000 || m.CPU.Usage.Kernel != 2000 || m.CPU.Usage.User != 3000 {
		t.Errorf("got cpu usage %+v, want total 5000, kernel 2000, user 3000", m.CPU.Usage)
	}
	if !slices.Equal(m.CPU.Usage.PerCPU, []uint64{1, 2}) {
		t.Errorf("got per-cpu usage %v, want [1 2]", m.CPU.Usage.PerCPU)
	}
	if m.Memory.Usage.Usage != 100 || m.Memory.Usage.Limit != 200 || m.Memory.Usage.Max != 150 {
		t.Errorf("got memory usage %+v, want usage 100, limit 200, max 150", m.Memory.Usage)
	}
	if m.Memory.RSS != 42 || m.Memory.TotalRSS != 43 || m.Memory.Cache != 7 {
		t.Errorf("got rss %d, total rss %d, cache %d, want 42, 43, 7", m.Memory.RSS, m.Memory.TotalRSS, m.Memory.Cache)
	}
	if len(m.Blkio.IoServiceBytesRecursive) != 1 || m.Blkio.IoServiceBytesRecursive[0].Value != 512 {
		t.Errorf("got blkio %v, want one entry of 512 bytes", m.Blkio.IoServiceBytesRecursive)
	}
	if len(m.Hugetlb) != 1 || m.Hugetlb[0].Pagesize != "2MB" || m.Hugetlb[0].Usage != 4 {
		t.Errorf("got hugetlb %v, want 2MB with usage 4", m.Hugetlb)
	}
}

func TestMetricsV2(t *testing.T) {
	s := &runtime.Stats{
		CPU:    runtime.CPUStats{Usage: runtime.CPUUsage{Total: 5000, Kernel: 2000, User: 3000}},
		Memory: runtime.MemoryStats{Usage: runtime.MemoryEntry{Usage: 100, Limit: 200}, Raw: map[string]uint64{"anon": 9}},
		Blkio: runtime.BlkioStats{
			IoServiceBytesRecursive: []runtime.BlkioEntry{
				{Major: 8, Op: "Read", Value: 512}, {Major: 8, Op: "Write", Value: 1024},
				{Major: 9, Op: "Read", Value: 1}},
			IoServicedRecursive: []runtime.BlkioEntry{{Major: 8, Op: "Read", Value: 2}},
		},
	}
	m := metricsV2(s)
	if m.CPU.UsageUsec != 5 || m.CPU.SystemUsec != 2 || m.CPU.UserUsec != 3 {
		t.Errorf("got cpu %+v, want 5, 2 and 3 microseconds", m.CPU)
	}
	if m.Memory.Usage != 100 || m.Memory.UsageLimit != 200 || m.Memory.Anon != 9 {
		t.Errorf("got memory usage %d, limit %d, anon %d, want 100, 200, 9", m.Memory.Usage, m.Memory.UsageLimit, m.Memory.Anon)
	}
	if len(m.Io.Usage) != 2 {
		t.Fatalf("got %d io entries, want one per device (2)", len(m.Io.Usage))
	}
	first := m.Io.Usage[0]
	if first.Major != 8 || first.Rbytes != 512 || first.Wbytes != 1024 || first.Rios != 2 {
		t.Errorf("got device 8 entry %+v, want rbytes 512, wbytes 1024, rios 2", first)
	}
}

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		ws   unix.WaitStatus
		want int
	}{
		{0, 0},
		{42 << 8, 42},
		{unix.WaitStatus(unix.SIGKILL), 137},
		{unix.WaitStatus(unix.SIGTERM), 143},
	} {
		if got := exitCode(tt.ws); got != tt.want {
			t.Errorf("exitCode(%#x): got %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

func TestToErrdefs(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want func(error) bool
	}{
		{fmt.Errorf("container x %w", runtime.ErrNotExist), errdefs.IsNotFound},
		{fmt.Errorf("create x: %w", runtime.ErrExist), errdefs.IsAlreadyExists},
		{fmt.Errorf("signal x: %w", runtime.ErrNotRunning), errdefs.IsFailedPrecondition},
		{fmt.Errorf("resume x: %w", runtime.ErrNotPaused), errdefs.IsFailedPrecondition},
		{runtime.ErrStopped, errdefs.IsFailedPrecondition},
		{fmt.Errorf("x: %w", errdefs.ErrNotImplemented), errdefs.IsNotImplemented},
	} {
		got := toErrdefs(tt.err)
		if !tt.want(got) {
			t.Errorf("toErrdefs(%q): got %v, want its containerd category", tt.err, got)
		}
		if !errors.Is(got, tt.err) && got.Error() == "" {
			t.Errorf("toErrdefs(%q): lost the message", tt.err)
		}
	}
	plain := errors.New("plain")
	if got := toErrdefs(plain); got != plain {
		t.Errorf("toErrdefs(plain): got %v, want the error unchanged", got)
	}
}

func TestProcessLifecycle(t *testing.T) {
	p := newProcess("c1", "e1", stdioConfig{}, nil)
	if _, _, _, err := p.markDeleted(); err != nil {
		t.Fatalf("delete a never started exec: %v", err)
	}
	select {
	case <-p.exited:
	default:
		t.Errorf("never started exec: got exited still open after delete, want it closed")
	}

	p = newProcess("c1", "e2", stdioConfig{}, nil)
	p.setStarted(100, nil, nil, statusRunning)
	if _, _, _, err := p.markDeleted(); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("delete a running exec: got %v, want a FailedPrecondition error", err)
	}
	at := time.Unix(1000, 0)
	p.setExited(137, at)
	p.setExited(0, time.Unix(2000, 0))
	status, pid, code, exitedAt := p.snapshot()
	if status != statusStopped || pid != 100 || code != 137 || !exitedAt.Equal(at) {
		t.Errorf("after exit: got %v, pid %d, status %d at %v, want stopped, 100, 137 at %v",
			status, pid, code, exitedAt, at)
	}
	if err := p.signal(unix.SIGTERM); !errdefs.IsNotFound(err) {
		t.Errorf("signal a stopped exec: got %v, want a NotFound error", err)
	}
	pid, code, _, err := p.markDeleted()
	if err != nil || pid != 100 || code != 137 {
		t.Errorf("delete a stopped exec: got pid %d, status %d, %v, want 100, 137, nil", pid, code, err)
	}
	if _, _, _, err := p.markDeleted(); !errdefs.IsNotFound(err) {
		t.Errorf("delete twice: got %v, want a NotFound error", err)
	}
}

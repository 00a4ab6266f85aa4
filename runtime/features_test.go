package runtime

import (
	"encoding/json"
	goruntime "runtime"
	"slices"
	"testing"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/runtime/internal/seccomp"
)

func TestFeaturesNamespaces(t *testing.T) {
	got := Features().Linux.Namespaces
	want := []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}
	if !slices.Equal(got, want) {
		t.Errorf("namespaces: got %v, want %v", got, want)
	}
}

func TestFeaturesMountOptionsAreHandled(t *testing.T) {
	opts := Features().MountOptions
	for _, want := range []string{"rbind", "bind", "ro", "rro", "rprivate", "nosuid"} {
		if !slices.Contains(opts, want) {
			t.Errorf("mountOptions: got %v, want it to contain %q", opts, want)
		}
	}
	// Every listed option must be one the runtime acts on, not one passed
	// through to the filesystem as data.
	for _, opt := range opts {
		if data := parseMountOptions([]string{opt}).data; len(data) != 0 {
			t.Errorf("mount option %q: got it passed to the filesystem as %v, want it handled", opt, data)
		}
	}
	if !slices.IsSorted(opts) {
		t.Errorf("mountOptions: got %v, want them sorted", opts)
	}
}

func TestFeaturesCapabilities(t *testing.T) {
	caps := Features().Linux.Capabilities
	if got, want := len(caps), len(capability.ListKnown()); got != want {
		t.Errorf("capabilities: got %d, want %d", got, want)
	}
	for _, want := range []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_BIND_SERVICE"} {
		if !slices.Contains(caps, want) {
			t.Errorf("capabilities: got %v, want it to contain %s", caps, want)
		}
	}
}

func TestFeaturesHooksAndVersions(t *testing.T) {
	f := Features()
	want := []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}
	if !slices.Equal(f.Hooks, want) {
		t.Errorf("hooks: got %v, want %v", f.Hooks, want)
	}
	if f.OCIVersionMax != specs.Version {
		t.Errorf("ociVersionMax: got %q, want %q", f.OCIVersionMax, specs.Version)
	}
	if err := validateVersion(f.OCIVersionMin); err != nil {
		t.Errorf("ociVersionMin %q: got %v from validateVersion, want it accepted", f.OCIVersionMin, err)
	}
	if f.Annotations[AnnotationVersion] == "" {
		t.Errorf("annotation %s: got none, want a version", AnnotationVersion)
	}
}

func TestFeaturesDisabledSubsystems(t *testing.T) {
	l := Features().Linux
	checks := []struct {
		name string
		got  *bool
		want bool
	}{
		{"apparmor.enabled", l.Apparmor.Enabled, false},
		{"selinux.enabled", l.Selinux.Enabled, false},
		{"intelRdt.enabled", l.IntelRdt.Enabled, false},
		{"cgroup.v1", l.Cgroup.V1, true},
		{"cgroup.v2", l.Cgroup.V2, true},
		{"seccomp.enabled", l.Seccomp.Enabled, true},
	}
	for _, c := range checks {
		if c.got == nil || *c.got != c.want {
			t.Errorf("linux.%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if l.Cgroup.Systemd == nil {
		t.Errorf("linux.cgroup.systemd: got nil, want the detected value")
	}
}

// TestFeaturesSeccompCompiles proves that the seccomp lists match what the
// seccomp package accepts: a profile with each entry must compile.
func TestFeaturesSeccompCompiles(t *testing.T) {
	sc := Features().Linux.Seccomp
	compile := func(what string, profile *specs.LinuxSeccomp) {
		t.Helper()
		f, _, err := seccomp.Compile(profile)
		if err != nil {
			t.Errorf("%s: got %v, want a profile using it to compile", what, err)
			return
		}
		f.Release()
	}
	for _, action := range sc.Actions {
		if action == string(specs.ActNotify) {
			// NOTIFY needs a listener path and may not be the default.
			compile(action, &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow, ListenerPath: "/run/agent.sock",
				Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.ActNotify}},
			})
			continue
		}
		compile(action, &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: specs.LinuxSeccompAction(action)}},
		})
	}
	for _, op := range sc.Operators {
		compile(op, &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{
				Names: []string{"getpid"}, Action: specs.ActErrno,
				Args: []specs.LinuxSeccompArg{{Index: 0, Value: 1, ValueTwo: 1, Op: specs.LinuxSeccompOperator(op)}},
			}},
		})
	}
	for _, arch := range sc.Archs {
		compile(arch, &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.Arch(arch)},
		})
	}
	for _, flag := range sc.KnownFlags {
		compile(flag, &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlag(flag)},
		})
	}
}

func TestFeaturesSeccompArchs(t *testing.T) {
	archs := Features().Linux.Seccomp.Archs
	native := map[string]string{"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64"}[goruntime.GOARCH]
	if native == "" {
		t.Skipf("no native seccomp architecture known for GOARCH %s", goruntime.GOARCH)
	}
	if !slices.Contains(archs, native) {
		t.Errorf("seccomp archs: got %v, want the native %s", archs, native)
	}
}

func TestFeaturesJSON(t *testing.T) {
	data, err := json.Marshal(Features())
	if err != nil {
		t.Fatalf("encode features: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("decode features: %v", err)
	}
	for _, key := range []string{"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux", "annotations"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("features JSON: key %q missing in %s", key, data)
		}
	}
}

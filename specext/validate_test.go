package specext

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mustParse parses annotations and fails the test on error.
func mustParse(t *testing.T, annotations map[string]string) *Config {
	t.Helper()
	c, err := Parse(annotations)
	if err != nil {
		t.Fatalf("Parse(%v): %v", annotations, err)
	}
	return c
}

// podmanSpec returns a spec with the namespaces and mounts that podman and
// containerd list for an ordinary container.
func podmanSpec() *specs.Spec {
	return &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc"},
			{Destination: "/dev", Type: "tmpfs"},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.CgroupNamespace},
			},
		},
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		spec        *specs.Spec
		passedFDs   int
	}{
		{"fresh namespaces replaced", map[string]string{NullKey: "network,ipc,uts,pid,cgroup"}, podmanSpec(), 0},
		{"no linux section", map[string]string{NullKey: "all"}, &specs.Spec{}, 0},
		{
			"joined kind not nulled",
			map[string]string{NullKey: "network"},
			&specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
				{Type: specs.IPCNamespace, Path: "/proc/1/ns/ipc"},
			}}},
			0,
		},
		{"mounts without null mount", map[string]string{NullKey: "root,cwd"}, podmanSpec(), 0},
		{
			"mappings without null user",
			map[string]string{NullKey: "network"},
			&specs.Spec{Linux: &specs.Linux{UIDMappings: []specs.LinuxIDMapping{{Size: 1}}}},
			0,
		},
		{"grant above passed fds", map[string]string{GrantKeyPrefix + "5": "/srv"}, &specs.Spec{}, 2},
		{"grant at fd 3 with none passed", map[string]string{GrantKeyPrefix + "3": "/srv"}, &specs.Spec{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.annotations)
			if err := c.Validate(tt.spec, tt.passedFDs); err != nil {
				t.Errorf("Validate: got error %v, want nil", err)
			}
		})
	}
}

func TestValidateNilConfig(t *testing.T) {
	var c *Config
	if err := c.Validate(podmanSpec(), 0); err != nil {
		t.Errorf("got error %v, want nil", err)
	}
}

func TestValidateBadArguments(t *testing.T) {
	c := mustParse(t, map[string]string{NullKey: "pid"})
	if err := c.Validate(nil, 0); err == nil {
		t.Errorf("nil spec: got nil error, want one")
	}
	if err := c.Validate(&specs.Spec{}, -1); err == nil {
		t.Errorf("negative passed fds: got nil error, want one")
	}
}

func TestValidateConflicts(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		spec        *specs.Spec
		passedFDs   int
		key         string
		field       string
		wants       []string // substrings of the message
	}{
		{
			name:        "joined network namespace",
			annotations: map[string]string{NullKey: "network"},
			spec: &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace, Path: "/var/run/netns/cni-1"},
			}}},
			key:   NullKey,
			field: "linux.namespaces",
			wants: []string{"entry 1", "network", `"/var/run/netns/cni-1"`, "remove the entry"},
		},
		{
			name:        "joined user namespace under all",
			annotations: map[string]string{NullKey: "all"},
			spec: &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
				{Type: specs.UserNamespace, Path: "/proc/42/ns/user"},
			}}},
			key:   NullKey,
			field: "linux.namespaces",
			wants: []string{"entry 0", "user", "/proc/42/ns/user"},
		},
		{
			name:        "null mount with mounts",
			annotations: map[string]string{NullKey: "mount"},
			spec:        podmanSpec(),
			key:         NullKey,
			field:       "mounts",
			wants:       []string{"/proc, /dev", "drop the mounts"},
		},
		{
			name:        "null user with uid mappings",
			annotations: map[string]string{NullKey: "user"},
			spec: &specs.Spec{Linux: &specs.Linux{
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			}},
			key:   NullKey,
			field: "linux.uidMappings and linux.gidMappings",
			wants: []string{"drop the mappings"},
		},
		{
			name:        "null user with gid mappings",
			annotations: map[string]string{NullKey: "user"},
			spec: &specs.Spec{Linux: &specs.Linux{
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}},
			}},
			key:   NullKey,
			field: "linux.uidMappings and linux.gidMappings",
			wants: []string{"drop the mappings"},
		},
		{
			name:        "null time with offsets",
			annotations: map[string]string{NullKey: "time"},
			spec: &specs.Spec{Linux: &specs.Linux{
				TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}},
			}},
			key:   NullKey,
			field: "linux.timeOffsets",
			wants: []string{"drop the offsets"},
		},
		{
			name:        "grant on a passed fd",
			annotations: map[string]string{GrantKeyPrefix + "4": "/srv", GrantKeyPrefix + "9": "/x"},
			spec:        &specs.Spec{},
			passedFDs:   2,
			key:         GrantKeyPrefix + "4",
			field:       "the passed fds",
			wants:       []string{"fd 4", "fds 3-4", "--preserve-fds", "from 5 to 1023"},
		},
		{
			name:        "every grant fd passed",
			annotations: map[string]string{GrantKeyPrefix + "1023": "/srv"},
			spec:        &specs.Spec{},
			passedFDs:   1021,
			key:         GrantKeyPrefix + "1023",
			field:       "the passed fds",
			wants:       []string{"pass fewer fds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.annotations)
			err := c.Validate(tt.spec, tt.passedFDs)
			var ae *AnnotationError
			if !errors.As(err, &ae) {
				t.Fatalf("Validate: got error %v, want an *AnnotationError", err)
			}
			if !errors.Is(err, ErrConflict) {
				t.Errorf("Validate: got error %v, want one that wraps ErrConflict", err)
			}
			if ae.Key != tt.key {
				t.Errorf("Validate: got key %q, want %q", ae.Key, tt.key)
			}
			if ae.Field != tt.field {
				t.Errorf("Validate: got field %q, want %q", ae.Field, tt.field)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate: got message %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestNamespaces(t *testing.T) {
	joinedNet := specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/var/run/netns/x"}
	tests := []struct {
		name string
		null string
		in   []specs.LinuxNamespace
		want []specs.LinuxNamespace
	}{
		{
			name: "fresh entries of nulled kinds removed",
			null: "network,pid",
			in:   podmanSpec().Linux.Namespaces,
			want: []specs.LinuxNamespace{
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.CgroupNamespace},
			},
		},
		{
			name: "all removes every kind",
			null: "all",
			in: append(podmanSpec().Linux.Namespaces,
				specs.LinuxNamespace{Type: specs.UserNamespace},
				specs.LinuxNamespace{Type: specs.TimeNamespace}),
			want: []specs.LinuxNamespace{},
		},
		{
			name: "root and cwd remove nothing",
			null: "root,cwd",
			in:   podmanSpec().Linux.Namespaces,
			want: podmanSpec().Linux.Namespaces,
		},
		{
			name: "joined entry kept",
			null: "network",
			in:   []specs.LinuxNamespace{{Type: specs.PIDNamespace}, joinedNet},
			want: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, joinedNet},
		},
		{
			name: "nulled kind not listed",
			null: "time",
			in:   []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
			want: []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
		},
		{
			name: "nil input",
			null: "mount",
			in:   nil,
			want: []specs.LinuxNamespace{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, map[string]string{NullKey: tt.null})
			in := append([]specs.LinuxNamespace(nil), tt.in...)
			got := c.Namespaces(in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(in, tt.in) && tt.in != nil {
				t.Errorf("input changed: got %v, want %v", in, tt.in)
			}
		})
	}
}

func TestNamespacesNilConfig(t *testing.T) {
	var c *Config
	in := podmanSpec().Linux.Namespaces
	got := c.Namespaces(in)
	if !reflect.DeepEqual(got, in) {
		t.Errorf("got %v, want %v", got, in)
	}
	if len(got) > 0 && &got[0] == &in[0] {
		t.Errorf("got the input slice, want a copy")
	}
}

func TestSettingNamespaceType(t *testing.T) {
	for _, s := range Settings {
		nt, ok := s.NamespaceType()
		hasNamespace := s != Root && s != Cwd
		if ok != hasNamespace {
			t.Errorf("%s: got ok %v, want %v", s, ok, hasNamespace)
		}
		if ok && string(nt) != string(s) {
			t.Errorf("%s: got namespace type %q, want %q", s, nt, s)
		}
	}
}

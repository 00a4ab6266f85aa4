package runtime

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCRIUOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    CRIUOptions
		wantErr string
	}{
		{"defaults", CRIUOptions{}, ""},
		{"lazy pages", CRIUOptions{LazyPages: true}, "--lazy-pages is not supported"},
		{"bad cgroups mode", CRIUOptions{ManageCgroupsMode: "bogus"}, `invalid --manage-cgroups-mode "bogus"`},
		{"strict cgroups mode", CRIUOptions{ManageCgroupsMode: "strict"}, ""},
		{"empty network", CRIUOptions{EmptyNS: "network"}, ""},
		{"empty ipc", CRIUOptions{EmptyNS: "ipc"}, `invalid --empty-ns "ipc"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("validate: got %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("validate: got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCRIUOptionsDefaults(t *testing.T) {
	o := CRIUOptions{ImagePath: "/img"}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	if o.WorkPath != "/img" {
		t.Errorf("work path: got %q, want the image path %q", o.WorkPath, "/img")
	}
	if o.ManageCgroupsMode != "soft" {
		t.Errorf("cgroups mode: got %q, want %q", o.ManageCgroupsMode, "soft")
	}
	args := o.args()
	if !slices.Contains(args, "--manage-cgroups=soft") {
		t.Errorf("args: got %q, want --manage-cgroups=soft", args)
	}
}

// testContainer is a running container as Checkpoint sees it, without a
// process behind it.
func testContainer(mounts []specs.Mount, namespaces []specs.LinuxNamespace) *Container {
	return &Container{id: "c1", state: &persistedState{
		State: State{ID: "c1", Pid: 4242, Rootfs: "/b/rootfs"},
		Config: &specs.Spec{Mounts: mounts,
			Linux: &specs.Linux{Namespaces: namespaces}},
	}}
}

func TestDumpArgs(t *testing.T) {
	c := testContainer([]specs.Mount{
		{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind"}},
		{Destination: "/proc", Type: "proc", Source: "proc"},
	}, nil)
	opts := CheckpointOptions{
		CRIUOptions:  CRIUOptions{ImagePath: "/img/2", TCPEstablished: true, EmptyNS: "network"},
		ParentPath:   "/img/1",
		LeaveRunning: true,
	}
	if err := opts.validate(); err != nil {
		t.Fatal(err)
	}
	args, err := c.dumpArgs(&opts)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{
		"dump --tree 4242 ",
		"--root /b/rootfs",
		"--tcp-established",
		"--empty-ns net",
		"--leave-running",
		"--track-mem",
		"--prev-images-dir ../1",
		"--external mnt[/data]:/data",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("dump args: got %q, want %q in it", line, want)
		}
	}
	if strings.Contains(line, "mnt[/proc]") {
		t.Errorf("dump args: got %q, want /proc not external", line)
	}
}

func TestDumpArgsPreDump(t *testing.T) {
	c := testContainer(nil, nil)
	opts := CheckpointOptions{CRIUOptions: CRIUOptions{ImagePath: "/img"}, PreDump: true, LeaveRunning: true}
	if err := opts.validate(); err != nil {
		t.Fatal(err)
	}
	args, err := c.dumpArgs(&opts)
	if err != nil {
		t.Fatal(err)
	}
	if args[0] != "pre-dump" {
		t.Errorf("action: got %q, want pre-dump", args[0])
	}
	// criu pre-dump always leaves the tasks running and rejects the option.
	if slices.Contains(args, "--leave-running") {
		t.Errorf("pre-dump args: got %q, want no --leave-running", args)
	}
}

func TestDumpArgsBadPageServer(t *testing.T) {
	c := testContainer(nil, nil)
	opts := CheckpointOptions{CRIUOptions: CRIUOptions{ImagePath: "/img"}, PageServer: "nohostport"}
	if err := opts.validate(); err != nil {
		t.Fatal(err)
	}
	_, err := c.dumpArgs(&opts)
	if err == nil || !strings.Contains(err.Error(), "ADDRESS:PORT") {
		t.Errorf("dumpArgs: got %v, want an error asking for ADDRESS:PORT", err)
	}
}

func TestExternalNamespace(t *testing.T) {
	got, err := externalNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "net[") || !strings.HasSuffix(got, "]:extRootNetNS") {
		t.Errorf("joined network namespace: got %q, want net[INODE]:extRootNetNS", got)
	}
	_, err = externalNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: "/proc/self/ns/ipc"})
	if err == nil {
		t.Error("joined ipc namespace: got nil error, want a rejection")
	}
	got, err = externalNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace})
	if err != nil || got != "" {
		t.Errorf("fresh ipc namespace: got %q, %v, want no external", got, err)
	}
}

func TestRejectNull(t *testing.T) {
	spec := &specs.Spec{Annotations: map[string]string{"dev.nullrun.null": "network"}}
	if err := rejectNull("c1", spec); err == nil {
		t.Error("container with null settings: got nil error, want a rejection")
	}
	if err := rejectNull("c1", &specs.Spec{}); err != nil {
		t.Errorf("plain container: got %v, want nil", err)
	}
}

package nullns

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/specext"
)

// recorder is a Syscalls that records each call with its arguments and
// fails the call named in fail.
type recorder struct {
	calls []string
	fail  string
}

func (r *recorder) record(call string) error {
	r.calls = append(r.calls, call)
	if call == r.fail {
		return errors.New("injected failure")
	}
	return nil
}

func (r *recorder) SetNoNewPrivs() error    { return r.record("no_new_privs") }
func (r *recorder) DropCapabilities() error { return r.record("drop_capabilities") }
func (r *recorder) UnshareFS() error        { return r.record("unshare(CLONE_FS)") }
func (r *recorder) Fchdir(fd int) error     { return r.record(fmt.Sprintf("fchdir(%d)", fd)) }
func (r *recorder) Fchroot(fd int, flags uint) error {
	return r.record(fmt.Sprintf("fchroot(%d, %d)", fd, flags))
}

func TestNativeApplyCalls(t *testing.T) {
	failfs := linux.FDFailfsRoot
	tests := []struct {
		name     string
		settings []specext.Setting
		want     []string
	}{
		{"root", []specext.Setting{specext.Root},
			[]string{"no_new_privs", "unshare(CLONE_FS)", fmt.Sprintf("fchroot(%d, 0)", failfs), "drop_capabilities"}},
		{"cwd", []specext.Setting{specext.Cwd},
			[]string{"no_new_privs", "unshare(CLONE_FS)", fmt.Sprintf("fchdir(%d)", failfs), "drop_capabilities"}},
		{"mount root cwd", []specext.Setting{specext.Mount, specext.Root, specext.Cwd},
			[]string{"no_new_privs", "unshare(CLONE_FS)", fmt.Sprintf("fchdir(%d)", failfs),
				fmt.Sprintf("fchroot(%d, 0)", failfs), "drop_capabilities"}},
		{"network", []specext.Setting{specext.Network}, []string{"no_new_privs"}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{}
			req := Request{Settings: map[specext.Setting]bool{}, ProgramFD: -1}
			for _, s := range tt.settings {
				req.Settings[s] = true
			}
			if err := (Native{Sys: r}).Apply(req); err != nil {
				t.Fatalf("Apply: got %v, want success", err)
			}
			if !reflect.DeepEqual(r.calls, tt.want) {
				t.Errorf("calls: got %q, want %q", r.calls, tt.want)
			}
		})
	}
}

func TestNativeApplyStopsAtFailure(t *testing.T) {
	r := &recorder{fail: "unshare(CLONE_FS)"}
	req := Request{Settings: map[specext.Setting]bool{specext.Root: true}, ProgramFD: -1}
	err := (Native{Sys: r}).Apply(req)
	if err == nil {
		t.Fatal("Apply: got success, want the injected failure")
	}
	if want := []string{"no_new_privs", "unshare(CLONE_FS)"}; !reflect.DeepEqual(r.calls, want) {
		t.Errorf("calls: got %q, want %q", r.calls, want)
	}
}

func TestNativeApplyRejectsSettingWithoutFeature(t *testing.T) {
	for _, s := range []specext.Setting{specext.User, specext.PID, specext.Cgroup, specext.Time} {
		r := &recorder{}
		err := (Native{Sys: r}).Apply(Request{Settings: map[specext.Setting]bool{s: true}, ProgramFD: -1})
		var u *UnsupportedError
		if !errors.As(err, &u) || u.Setting != s {
			t.Errorf("Apply(%s): got %v, want *UnsupportedError for %s", s, err, s)
		}
		if len(r.calls) != 0 {
			t.Errorf("Apply(%s) calls: got %q, want none", s, r.calls)
		}
	}
}

func TestSpawnFlagsFor(t *testing.T) {
	p := probeOutcomes()["native"]
	plan, err := Plan(map[specext.Setting]bool{specext.Mount: true, specext.Network: true}, specext.EnforceNative, p)
	if err != nil {
		t.Fatal(err)
	}
	got := SpawnFlagsFor(plan, p)
	want := SpawnFlags{Clone3Flags: cloneEmptyMntnsMerged, Inherit: []specext.Setting{specext.Network}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("clone3 kernel: got %+v, want %+v", got, want)
	}

	p.EmptyMntnsClone.Available = false
	got = SpawnFlagsFor(plan, p)
	want = SpawnFlags{UnshareFlags: unshareEmptyMntns, Inherit: []specext.Setting{specext.Network}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("unshare-only kernel: got %+v, want %+v", got, want)
	}
}

// fakeBackend records the settings it was asked to apply.
type fakeBackend struct{ got map[specext.Setting]bool }

func (f *fakeBackend) Apply(req Request) error { f.got = req.Settings; return nil }

func TestPlannedSplitsSettings(t *testing.T) {
	plan := []specext.Enforcement{
		{Setting: specext.Root, Kind: specext.EnforcementNative},
		{Setting: specext.Network, Kind: specext.EnforcementEmulated},
		{Setting: specext.Time, Kind: specext.EnforcementFresh},
	}
	native, emulated := &fakeBackend{}, &fakeBackend{}
	b := &Planned{Plan: plan, Native: native, Emulated: emulated}
	req := Request{Settings: map[specext.Setting]bool{specext.Root: true, specext.Network: true, specext.Time: true},
		ProgramFD: -1, ABI: 7}
	if err := b.Apply(req); err != nil {
		t.Fatal(err)
	}
	if want := map[specext.Setting]bool{specext.Root: true}; !reflect.DeepEqual(native.got, want) {
		t.Errorf("native settings: got %v, want %v", native.got, want)
	}
	want := map[specext.Setting]bool{specext.Root: true, specext.Network: true}
	if !reflect.DeepEqual(emulated.got, want) {
		t.Errorf("emulated settings: got %v, want %v", emulated.got, want)
	}

	req.Settings[specext.IPC] = true
	if err := b.Apply(req); err == nil {
		t.Error("Apply with a setting the plan lacks: got success, want an error")
	}
}

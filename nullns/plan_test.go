package nullns

import (
	"errors"
	"fmt"
	"testing"

	"github.com/nullrun/nullrun/specext"
)

// Probe outcomes that the plan tests run against.
func probeOutcomes() map[string]*Probes {
	none := newProbes()

	stock := newProbes() // this machine: seccomp and Landlock ABI 7
	stock.Seccomp.Available = true
	stock.Landlock.Available, stock.LandlockABI = true, 7

	oldLandlock := newProbes() // Landlock without the scopes
	oldLandlock.Seccomp.Available = true
	oldLandlock.Landlock.Available, oldLandlock.LandlockABI = true, 5

	native := newProbes() // failfs, empty mount namespaces, inherited null namespaces
	*native = *stock
	for _, f := range native.childFeatures() {
		f.Available = true
	}
	native.CloneEmptyMntnsFlag = cloneEmptyMntnsMerged

	return map[string]*Probes{"none": none, "stock": stock, "old-landlock": oldLandlock, "native": native}
}

// TestPlan checks every setting in every mode against every probe outcome.
// Each want is the Kind, or "error" for an *UnsupportedError.
func TestPlan(t *testing.T) {
	type modes struct{ strict, native, permissive string }
	const (
		nat = specext.EnforcementNative
		emu = specext.EnforcementEmulated
		fr  = specext.EnforcementFresh
		bad = "error"
	)
	want := map[string]map[specext.Setting]modes{
		"none": {
			specext.Mount: {bad, bad, fr}, specext.Network: {bad, bad, fr}, specext.IPC: {bad, bad, fr},
			specext.UTS: {bad, bad, fr}, specext.User: {bad, bad, fr}, specext.PID: {bad, bad, fr},
			specext.Cgroup: {emu, bad, emu}, specext.Time: {bad, bad, fr},
			specext.Root: {bad, bad, fr}, specext.Cwd: {bad, bad, fr},
		},
		"stock": {
			specext.Mount: {emu, bad, emu}, specext.Network: {emu, bad, emu}, specext.IPC: {emu, bad, emu},
			specext.UTS: {emu, bad, emu}, specext.User: {emu, bad, emu}, specext.PID: {emu, bad, emu},
			specext.Cgroup: {emu, bad, emu}, specext.Time: {bad, bad, fr},
			specext.Root: {emu, bad, emu}, specext.Cwd: {emu, bad, emu},
		},
		"old-landlock": {
			specext.Mount: {emu, bad, emu}, specext.Network: {bad, bad, fr}, specext.IPC: {emu, bad, emu},
			specext.UTS: {emu, bad, emu}, specext.User: {emu, bad, emu}, specext.PID: {bad, bad, fr},
			specext.Cgroup: {emu, bad, emu}, specext.Time: {bad, bad, fr},
			specext.Root: {emu, bad, emu}, specext.Cwd: {emu, bad, emu},
		},
		"native": {
			specext.Mount: {nat, nat, nat}, specext.Network: {nat, nat, nat}, specext.IPC: {nat, nat, nat},
			specext.UTS: {nat, nat, nat}, specext.User: {emu, bad, emu}, specext.PID: {emu, bad, emu},
			specext.Cgroup: {emu, bad, emu}, specext.Time: {bad, bad, fr},
			specext.Root: {nat, nat, nat}, specext.Cwd: {nat, nat, nat},
		},
	}
	for outcome, p := range probeOutcomes() {
		for setting, m := range want[outcome] {
			for mode, wantKind := range map[specext.Enforce]string{
				specext.EnforceStrict: m.strict, specext.EnforceNative: m.native, specext.EnforcePermissive: m.permissive,
			} {
				t.Run(fmt.Sprintf("%s/%s/%s", outcome, setting, mode), func(t *testing.T) {
					checkPlanOne(t, p, setting, mode, wantKind)
				})
			}
		}
	}
}

func checkPlanOne(t *testing.T, p *Probes, setting specext.Setting, mode specext.Enforce, want string) {
	// A single setting other than mount, so the implied root and cwd do not
	// mix into the result.
	plan, err := Plan(map[specext.Setting]bool{setting: true}, mode, p)
	if want == "error" {
		var u *UnsupportedError
		if !errors.As(err, &u) {
			t.Fatalf("Plan: got %v, %v, want *UnsupportedError", plan, err)
		}
		if u.Setting != setting || u.Enforce != mode || u.Feature == "" || u.Kernel == "" {
			t.Errorf("UnsupportedError: got %+v, want setting %s, mode %s, feature and kernel", u, setting, mode)
		}
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Errorf("errors.Is(err, errors.ErrUnsupported): got false, want true")
		}
		return
	}
	if err != nil {
		t.Fatalf("Plan: got error %v, want kind %s", err, want)
	}
	if setting == specext.Mount {
		if len(plan) != 3 {
			t.Fatalf("Plan(mount): got %d entries, want 3 (mount, root, cwd)", len(plan))
		}
	} else if len(plan) != 1 {
		t.Fatalf("Plan: got %d entries, want 1", len(plan))
	}
	e := plan[0]
	if e.Setting != setting {
		t.Errorf("setting: got %s, want %s", e.Setting, setting)
	}
	if e.Kind != want {
		t.Errorf("kind: got %s (%s), want %s", e.Kind, e, want)
	}
	switch e.Kind {
	case specext.EnforcementNative:
		if e.Feature == "" {
			t.Errorf("native enforcement without a feature: %+v", e)
		}
	case specext.EnforcementEmulated:
		if len(e.Mechanisms) == 0 {
			t.Errorf("emulated enforcement without mechanisms: %+v", e)
		}
	case specext.EnforcementFresh:
		if e.Reason == "" {
			t.Errorf("fresh enforcement without a reason: %+v", e)
		}
	}
}

func TestPlanTimeErrorNamesFeature(t *testing.T) {
	_, err := Plan(map[specext.Setting]bool{specext.Time: true}, specext.EnforceStrict, probeOutcomes()["stock"])
	var u *UnsupportedError
	if !errors.As(err, &u) {
		t.Fatalf("Plan(time): got %v, want *UnsupportedError", err)
	}
	if got, want := u.Feature, "a null time namespace"; got != want {
		t.Errorf("feature: got %q, want %q", got, want)
	}
	if got, want := u.Kernel, kernelUnmerged; got != want {
		t.Errorf("kernel: got %q, want %q", got, want)
	}
}

func TestPlanJoinsAllErrors(t *testing.T) {
	null := map[specext.Setting]bool{specext.Time: true, specext.Network: true, specext.IPC: true}
	_, err := Plan(null, specext.EnforceNative, probeOutcomes()["stock"])
	if err == nil {
		t.Fatal("Plan: got nil error, want three")
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Plan error: got %T, want a joined error", err)
	}
	if got := len(joined.Unwrap()); got != 3 {
		t.Errorf("errors: got %d, want 3: %v", got, err)
	}
}

func TestPlanMountImpliesRootAndCwd(t *testing.T) {
	plan, err := Plan(map[specext.Setting]bool{specext.Mount: true}, specext.EnforceStrict, probeOutcomes()["stock"])
	if err != nil {
		t.Fatal(err)
	}
	var got []specext.Setting
	for _, e := range plan {
		got = append(got, e.Setting)
	}
	if want := []specext.Setting{specext.Mount, specext.Root, specext.Cwd}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("settings: got %v, want %v", got, want)
	}
}

func TestPlanRejectsUnknownInput(t *testing.T) {
	p := probeOutcomes()["stock"]
	if _, err := Plan(map[specext.Setting]bool{"disk": true}, specext.EnforceStrict, p); err == nil {
		t.Error("Plan(disk): got nil error, want unknown setting")
	}
	if _, err := Plan(map[specext.Setting]bool{specext.IPC: true}, "lenient", p); err == nil {
		t.Error("Plan(mode lenient): got nil error, want unknown mode")
	}
}

func TestDescribe(t *testing.T) {
	got := Describe(probeOutcomes()["stock"])
	if len(got) != len(specext.Settings) {
		t.Fatalf("entries: got %d, want %d", len(got), len(specext.Settings))
	}
	for _, e := range got {
		want := specext.EnforcementEmulated
		if e.Setting == specext.Time {
			want = specext.EnforcementUnavailable
		}
		if e.Kind != want {
			t.Errorf("%s: got %s, want %s", e.Setting, e, want)
		}
	}
}

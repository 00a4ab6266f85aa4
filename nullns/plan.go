package nullns

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nullrun/nullrun/specext"
)

// Mechanism names in specext.Enforcement.Mechanisms.
const (
	MechanismSeccomp        = "seccomp"
	MechanismLandlock       = "landlock"
	MechanismEmptyRoot      = "empty-root"
	MechanismEmptyCwd       = "empty-cwd"
	MechanismNoCapabilities = "no-capabilities"
	MechanismNoNewPrivs     = "no_new_privs"
	MechanismUserns         = "userns-unmapped"
	MechanismLeafCgroup     = "leaf-cgroup"
	MechanismCgroupns       = "cgroupns"
)

// requirement is a kernel feature that an enforcement needs, and how to
// tell from the probe results whether this kernel has it.
type requirement struct {
	feature, kernel string
	met             func(*Probes) bool
}

// The features that the emulations need.
var (
	needSeccomp = requirement{"seccomp filters with SECCOMP_RET_ERRNO", kernelSeccomp,
		func(p *Probes) bool { return p.Seccomp.Available }}
	needLandlock = requirement{"Landlock", kernelLandlock,
		func(p *Probes) bool { return p.Landlock.Available && p.LandlockABI >= 1 }}
	needScopes = requirement{"Landlock ABI 6 (abstract unix socket and signal scopes)",
		kernelLandlock6, func(p *Probes) bool { return p.Landlock.Available && p.LandlockABI >= 6 }}
)

// Plan decides how each setting in null is enforced on the kernel that p
// describes, in the order of specext.Settings. A null mount implies a null
// root and cwd, as in specext.Parse.
//
//   - specext.EnforceNative: native when a probe found the kernel feature,
//     otherwise an *UnsupportedError.
//   - specext.EnforceStrict (also for ""): native, else an emulation with
//     the same guarantee, else an *UnsupportedError. time has no such
//     emulation because the vDSO reads the clock without a system call.
//   - specext.EnforcePermissive: native, else the emulation, else a fresh
//     namespace of that kind (Kind "fresh", Reason naming what is missing).
//
// Every *UnsupportedError is returned, joined, so the caller sees all the
// settings it must give up at once.
func Plan(null map[specext.Setting]bool, enforce specext.Enforce, p *Probes) ([]specext.Enforcement, error) {
	if enforce == "" {
		enforce = specext.EnforceStrict
	}
	if !slices.Contains([]specext.Enforce{specext.EnforceStrict, specext.EnforceNative,
		specext.EnforcePermissive}, enforce) {
		return nil, fmt.Errorf("plan null settings: unknown enforcement mode %q; use strict, native or permissive", enforce)
	}
	for s, on := range null {
		if on && !slices.Contains(specext.Settings, s) {
			return nil, fmt.Errorf("plan null settings: unknown setting %q", s)
		}
	}

	var plan []specext.Enforcement
	var errs []error
	for _, s := range specext.Settings {
		if !requested(null, s) {
			continue
		}
		e, err := planSetting(s, enforce, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		plan = append(plan, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return plan, nil
}

// Describe returns how strict mode would enforce each setting on the kernel
// that p describes, with Kind "unavailable" and the missing feature in
// Reason where it would fail. It feeds `nullrun features`.
func Describe(p *Probes) []specext.Enforcement {
	out := make([]specext.Enforcement, 0, len(specext.Settings))
	for _, s := range specext.Settings {
		e, err := planSetting(s, specext.EnforceStrict, p)
		if err != nil {
			var u *UnsupportedError
			errors.As(err, &u)
			e = specext.Enforcement{Setting: s, Kind: specext.EnforcementUnavailable,
				Reason: fmt.Sprintf("needs %s (%s)", u.Feature, kernelPhrase(u.Kernel))}
		}
		out = append(out, e)
	}
	return out
}

func requested(null map[specext.Setting]bool, s specext.Setting) bool {
	if null[s] {
		return true
	}
	return (s == specext.Root || s == specext.Cwd) && null[specext.Mount]
}

func planSetting(s specext.Setting, enforce specext.Enforce, p *Probes) (specext.Enforcement, error) {
	if feature, ok := nativeFeature(s, p); ok {
		return specext.Enforcement{Setting: s, Kind: specext.EnforcementNative, Feature: feature}, nil
	}
	missingNative := nativeRequirement(s)
	if enforce == specext.EnforceNative {
		return specext.Enforcement{}, unsupported(s, enforce, missingNative)
	}

	mechanisms, missing := emulation(s, p)
	if missing == nil {
		return specext.Enforcement{Setting: s, Kind: specext.EnforcementEmulated, Mechanisms: mechanisms}, nil
	}
	if enforce == specext.EnforcePermissive {
		return specext.Enforcement{Setting: s, Kind: specext.EnforcementFresh,
			Reason: fmt.Sprintf("this kernel lacks %s (%s)", missing.feature, kernelPhrase(missing.kernel))}, nil
	}
	return specext.Enforcement{}, unsupported(s, enforce, *missing)
}

func unsupported(s specext.Setting, enforce specext.Enforce, r requirement) error {
	return &UnsupportedError{Setting: s, Enforce: enforce, Feature: r.feature, Kernel: r.kernel}
}

// nativeFeature returns the kernel feature that enforces s natively, if a
// probe found it.
func nativeFeature(s specext.Setting, p *Probes) (string, bool) {
	var candidates []Feature
	switch s {
	case specext.Root:
		candidates = []Feature{p.Failfs}
	case specext.Cwd:
		candidates = []Feature{p.FailfsCwd}
	case specext.Mount:
		candidates = []Feature{p.EmptyMntnsClone, p.EmptyMntnsUnshare}
	case specext.Network:
		candidates = []Feature{p.NullNetwork}
	case specext.IPC:
		candidates = []Feature{p.NullIPC}
	case specext.UTS:
		candidates = []Feature{p.NullUTS}
	}
	for _, f := range candidates {
		if f.Available {
			return f.Name, true
		}
	}
	return "", false
}

// nativeRequirement returns the feature that native enforcement of s needs.
func nativeRequirement(s specext.Setting) requirement {
	switch s {
	case specext.Root:
		return requirement{feature: "failfs fchroot(FD_FAILFS_ROOT)", kernel: kernelFailfs}
	case specext.Cwd:
		return requirement{feature: "failfs fchdir(FD_FAILFS_ROOT)", kernel: kernelFailfs}
	case specext.Mount:
		return requirement{feature: "an empty mount namespace (CLONE_EMPTY_MNTNS)", kernel: kernelEmptyMntns}
	}
	return requirement{feature: "a null " + string(s) + " namespace", kernel: kernelUnmerged}
}

// emulation returns the mechanisms that emulate s with the same guarantee,
// or the first kernel feature the emulation lacks.
func emulation(s specext.Setting, p *Probes) ([]string, *requirement) {
	var needs []requirement
	var mechanisms []string
	switch s {
	case specext.Root:
		needs = []requirement{needSeccomp, needLandlock}
		mechanisms = []string{MechanismEmptyRoot, MechanismLandlock, MechanismSeccomp,
			MechanismNoCapabilities, MechanismNoNewPrivs}
	case specext.Cwd:
		needs = []requirement{needLandlock}
		mechanisms = []string{MechanismEmptyCwd, MechanismLandlock, MechanismNoCapabilities,
			MechanismNoNewPrivs}
	case specext.Mount:
		needs = []requirement{needSeccomp, needLandlock}
		mechanisms = []string{MechanismEmptyRoot, MechanismSeccomp, MechanismLandlock,
			MechanismNoCapabilities, MechanismNoNewPrivs}
	case specext.Network:
		needs = []requirement{needSeccomp, needScopes}
		mechanisms = []string{MechanismSeccomp, MechanismLandlock}
	case specext.IPC, specext.UTS:
		needs = []requirement{needSeccomp}
		mechanisms = []string{MechanismSeccomp}
	case specext.PID:
		needs = []requirement{needSeccomp, needScopes}
		mechanisms = []string{MechanismSeccomp, MechanismLandlock, MechanismNoCapabilities}
	case specext.User:
		needs = []requirement{needSeccomp}
		mechanisms = []string{MechanismUserns, MechanismSeccomp, MechanismNoCapabilities}
	case specext.Cgroup:
		mechanisms = []string{MechanismLeafCgroup, MechanismCgroupns}
	case specext.Time:
		// The vDSO answers clock_gettime without entering the kernel, so
		// no filter can make the clock unreadable.
		r := nativeRequirement(s)
		return nil, &r
	}

	for _, r := range needs {
		if !r.met(p) {
			return nil, &r
		}
	}
	return mechanisms, nil
}

package specext

import (
	"strconv"
	"strings"
)

// Values of Enforcement.Kind.
const (
	// EnforcementNative is a kernel feature that provides the setting.
	EnforcementNative = "native"
	// EnforcementEmulated is a set of mechanisms that give the same guarantee.
	EnforcementEmulated = "emulated"
	// EnforcementFresh is the permissive fallback to a fresh namespace.
	EnforcementFresh = "fresh"
	// EnforcementUnavailable means this kernel cannot enforce the setting.
	EnforcementUnavailable = "unavailable"
)

// Enforcement is the method that enforces one setting on this kernel, as
// package nullns chooses it. The runtime records it in the container state.
type Enforcement struct {
	// Setting is the null setting.
	Setting Setting `json:"setting"`
	// Kind is one of EnforcementNative, EnforcementEmulated,
	// EnforcementFresh and EnforcementUnavailable.
	Kind string `json:"kind"`
	// Feature names the kernel feature when Kind is EnforcementNative, such
	// as "failfs".
	Feature string `json:"feature,omitempty"`
	// Mechanisms lists the mechanisms when Kind is EnforcementEmulated, such
	// as "seccomp", "landlock", "empty-root" and "userns-unmapped".
	Mechanisms []string `json:"mechanisms,omitempty"`
	// Reason explains why the setting cannot be enforced when Kind is
	// EnforcementUnavailable, for example by naming the missing kernel feature.
	Reason string `json:"reason,omitempty"`
}

// String returns "native:<feature>", "emulated:<m1>+<m2>",
// "fresh-namespace" or "unavailable:<reason>", and "invalid:<kind>" for a
// Kind outside the four constants.
func (e Enforcement) String() string {
	switch e.Kind {
	case EnforcementNative:
		return "native:" + e.Feature
	case EnforcementEmulated:
		return "emulated:" + strings.Join(e.Mechanisms, "+")
	case EnforcementFresh:
		return "fresh-namespace"
	case EnforcementUnavailable:
		return "unavailable:" + e.Reason
	}
	return "invalid:" + strconv.Quote(e.Kind)
}

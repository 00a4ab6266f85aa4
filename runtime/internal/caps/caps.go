// Package caps validates the OCI capability sets of a process and applies
// them to the calling thread of the container init.
//
// Capabilities belong to a thread, so every method acts on the calling
// thread only: lock the OS thread, call the methods from it and execve from
// it. The order relative to the credential change is:
//
//	s, err := caps.Parse(spec.Process.Capabilities)
//	s.DropBounding()       // still uid 0 with CAP_SETPCAP
//	s.PrepareUserChange()  // keep the permitted set across setuid
//	setgroups, setgid, setuid (on this thread)
//	s.Apply()              // effective, permitted, inheritable, then ambient
//	execve
//
// Without PrepareUserChange, a change from uid 0 to a non-zero uid empties the
// permitted set and Apply fails. The kernel also clears the ambient set on
// that change, which is why Apply raises it only afterwards.
package caps

import (
	"fmt"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/internal/linux"
)

// Set holds the five capability sets of a process as bit masks, bit n being
// capability number n.
type Set struct {
	bounding    uint64
	effective   uint64
	permitted   uint64
	inheritable uint64
	ambient     uint64

	// last is the highest capability this kernel supports.
	last capability.Cap
}

// Parse validates the capability sets in c. A name that is unknown, or that
// this kernel does not support, is an error naming it: runc only logs such
// names, but nullrun never starts a process with fewer capabilities than the
// bundle asks for. Parse also rejects sets the kernel would refuse at Apply:
// an effective capability outside the permitted set. Ambient capabilities
// outside the permitted or inheritable set are dropped, as the kernel would
// drop them. A nil c gives empty sets.
func Parse(c *specs.LinuxCapabilities) (*Set, error) {
	last, err := capability.LastCap()
	if err != nil {
		return nil, fmt.Errorf("find last capability of this kernel: %w", err)
	}
	s := &Set{last: last}
	if c == nil {
		return s, nil
	}

	sets := []struct {
		name  string
		names []string
		mask  *uint64
	}{
		{"bounding", c.Bounding, &s.bounding},
		{"effective", c.Effective, &s.effective},
		{"permitted", c.Permitted, &s.permitted},
		{"inheritable", c.Inheritable, &s.inheritable},
		{"ambient", c.Ambient, &s.ambient},
	}
	for _, set := range sets {
		for _, name := range set.names {
			capValue, err := lookup(name, last)
			if err != nil {
				return nil, fmt.Errorf("parse %s capabilities: %w", set.name, err)
			}
			*set.mask |= 1 << uint(capValue)
		}
	}

	if extra := s.effective &^ s.permitted; extra != 0 {
		return nil, fmt.Errorf("invalid capabilities: effective %s not in the permitted set: "+
			"add them to permitted", names(extra))
	}
	// The kernel keeps an ambient capability only while it is permitted and
	// inheritable. runc's default spec lists ambient capabilities without
	// inheritable ones, and runc (1.1) runs it with those left out, so they
	// are dropped here too rather than rejected.
	s.ambient &= s.permitted & s.inheritable
	return s, nil
}

// knownNames maps "CAP_CHOWN" style names to capabilities.
var knownNames = func() map[string]capability.Cap {
	m := make(map[string]capability.Cap)
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}()

func lookup(name string, last capability.Cap) (capability.Cap, error) {
	c, ok := knownNames[name]
	if !ok {
		return 0, fmt.Errorf("unknown capability %q: use a name such as CAP_CHOWN", name)
	}
	if c > last {
		return 0, fmt.Errorf("capability %s is not supported by this kernel, whose last capability "+
			"is CAP_%s: remove it or use a newer kernel", name, strings.ToUpper(last.String()))
	}
	return c, nil
}

// names formats the capabilities in mask as "CAP_A, CAP_B".
func names(mask uint64) string {
	var out []string
	for c := capability.Cap(0); c < 64; c++ {
		if mask&(1<<uint(c)) != 0 {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return strings.Join(out, ", ")
}

// DropBounding drops every capability that is not in the bounding set from
// the calling thread's bounding set. It needs CAP_SETPCAP, so call it while
// still uid 0, before the credential change.
func (s *Set) DropBounding() error {
	for c := capability.Cap(0); c <= s.last; c++ {
		if s.bounding&(1<<uint(c)) != 0 {
			continue
		}
		if err := capability.DropBound(c); err != nil {
			return fmt.Errorf("drop CAP_%s from the bounding set: %w", strings.ToUpper(c.String()), err)
		}
	}
	return nil
}

// PrepareUserChange makes the calling thread keep its permitted set across
// the coming setuid (PR_SET_KEEPCAPS), so that Apply can still set the
// capabilities afterwards. Call it after DropBounding and before setgroups,
// setgid and setuid. Apply clears the flag again, and execve would too.
func (s *Set) PrepareUserChange() error {
	if err := linux.SetKeepCaps(true); err != nil {
		return fmt.Errorf("keep capabilities across the user change: %w", err)
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets of the calling
// thread, then raises the ambient set. Call it after setuid: the kernel
// clears the ambient set when a thread changes from uid 0 to a non-zero uid.
// After a change away from uid 0, it works only if PrepareUserChange was
// called before the change. The permitted set can only shrink, and an
// inheritable capability must be in the bounding set or already inheritable.
func (s *Set) Apply() error {
	caps, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("apply capabilities: %w", err)
	}
	for c := capability.Cap(0); c <= s.last; c++ {
		bit := uint64(1) << uint(c)
		if s.effective&bit != 0 {
			caps.Set(capability.EFFECTIVE, c)
		}
		if s.permitted&bit != 0 {
			caps.Set(capability.PERMITTED, c)
		}
		if s.inheritable&bit != 0 {
			caps.Set(capability.INHERITABLE, c)
		}
	}
	if err := caps.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("set capabilities (effective %s, permitted %s, inheritable %s): %w: "+
			"if the thread changed away from uid 0, call PrepareUserChange before that change",
			orNone(names(s.effective)), orNone(names(s.permitted)), orNone(names(s.inheritable)), err)
	}

	if err := capability.ResetAmbient(); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := capability.Cap(0); c <= s.last; c++ {
		if s.ambient&(1<<uint(c)) == 0 {
			continue
		}
		if err := capability.SetAmbient(true, c); err != nil {
			return fmt.Errorf("raise ambient capability CAP_%s: %w", strings.ToUpper(c.String()), err)
		}
	}

	if err := linux.SetKeepCaps(false); err != nil {
		return fmt.Errorf("apply capabilities: %w", err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// CheckGrantable returns an error naming every capability of the sets
// that the calling thread's own bounding set lacks: no process it starts
// can ever hold one, so asking for it is an error at create rather than a
// failed exec later.
func (s *Set) CheckGrantable() error {
	var missing uint64
	wanted := s.bounding | s.effective | s.permitted | s.inheritable | s.ambient
	for c := capability.Cap(0); c <= s.last; c++ {
		if wanted&(1<<uint(c)) == 0 {
			continue
		}
		have, err := linux.CapbsetRead(int(c))
		if err != nil {
			return fmt.Errorf("read own bounding set: %w", err)
		}
		if !have {
			missing |= 1 << uint(c)
		}
	}
	if missing != 0 {
		return fmt.Errorf("capabilities %s are not in the runtime's own bounding set, so the "+
			"container cannot have them: remove them from process.capabilities", names(missing))
	}
	return nil
}

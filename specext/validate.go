package specext

import (
	"errors"
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Validate checks c against the rest of spec and returns the first
// conflict as an *AnnotationError that wraps ErrConflict. passedFDs is the
// number of fds that the caller passes to the process from fd 3 on, with
// --preserve-fds or LISTEN_FDS. A nil Config is valid.
//
// The conflicts are:
//   - a null setting whose namespace kind has a linux.namespaces entry with
//     a path, because a null namespace cannot be joined;
//   - a null mount with entries in mounts, because there is no mount table
//     to mount them in;
//   - a null user namespace with linux.uidMappings or linux.gidMappings,
//     because a null user namespace maps no IDs;
//   - a null time namespace with linux.timeOffsets, because there is no
//     clock to offset;
//   - a grant fd below 3+passedFDs, which would replace a passed fd.
func (c *Config) Validate(spec *specs.Spec, passedFDs int) error {
	if c == nil {
		return nil
	}
	if spec == nil {
		return errors.New("validate null annotations: spec is nil")
	}
	if passedFDs < 0 {
		return fmt.Errorf("validate null annotations: passed fd count %d is negative", passedFDs)
	}

	if err := c.validateNamespaces(spec.Linux); err != nil {
		return err
	}
	if err := c.validateMounts(spec.Mounts); err != nil {
		return err
	}
	if err := c.validateLinux(spec.Linux); err != nil {
		return err
	}
	return c.validateGrantFDs(passedFDs)
}

// nullValue is the canonical dev.nullrun.null value, quoted in conflicts.
func (c *Config) nullValue() string {
	return c.Annotations()[NullKey]
}

func (c *Config) validateNamespaces(linux *specs.Linux) error {
	if linux == nil {
		return nil
	}
	for i, ns := range linux.Namespaces {
		if ns.Path == "" || !c.nullsNamespace(ns.Type) {
			continue
		}
		return conflict(NullKey, c.nullValue(), "linux.namespaces",
			"entry %d joins the %s namespace at %q, but a null namespace cannot be joined; "+
				"remove the entry or remove %q from %s",
			i, ns.Type, ns.Path, Setting(ns.Type), NullKey)
	}
	return nil
}

func (c *Config) validateMounts(mounts []specs.Mount) error {
	if !c.Has(Mount) || len(mounts) == 0 {
		return nil
	}
	destinations := make([]string, len(mounts))
	for i, m := range mounts {
		destinations[i] = m.Destination
	}
	return conflict(NullKey, c.nullValue(), "mounts",
		"a null mount namespace has no mount table, but mounts lists %s; "+
			"drop the mounts or remove %q from %s",
		strings.Join(destinations, ", "), Mount, NullKey)
}

func (c *Config) validateLinux(linux *specs.Linux) error {
	if linux == nil {
		return nil
	}
	if c.Has(User) && len(linux.UIDMappings)+len(linux.GIDMappings) > 0 {
		return conflict(NullKey, c.nullValue(), "linux.uidMappings and linux.gidMappings",
			"a null user namespace maps no IDs; drop the mappings or remove %q from %s",
			User, NullKey)
	}
	if c.Has(Time) && len(linux.TimeOffsets) > 0 {
		return conflict(NullKey, c.nullValue(), "linux.timeOffsets",
			"a null time namespace has no clocks to offset; drop the offsets or remove %q from %s",
			Time, NullKey)
	}
	return nil
}

func (c *Config) validateGrantFDs(passedFDs int) error {
	lowest := MinGrantFD + passedFDs
	for _, g := range c.Grants {
		if g.FD >= lowest {
			continue
		}
		advice := fmt.Sprintf("use an fd from %d to %d", lowest, MaxGrantFD)
		if lowest > MaxGrantFD {
			advice = "pass fewer fds"
		}
		return conflict(g.Key(), g.Value(), "the passed fds",
			"fd %d is one of the %d fds passed with --preserve-fds or LISTEN_FDS (fds %d-%d); %s",
			g.FD, passedFDs, MinGrantFD, lowest-1, advice)
	}
	return nil
}

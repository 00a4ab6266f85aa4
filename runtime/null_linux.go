package runtime

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/nullns"
	"github.com/nullrun/nullrun/specext"
)

// nullConfinement is the init's last step for a process with null
// settings: the empty root and cwd, then the kernel policies.
type nullConfinement struct {
	null *initNull
	// rules are the directories and files the filesystem policy allows:
	// the grants, and what the process keeps of its container.
	rules []nullGrant
}

// confineNull moves the init into the empty root (a null root) or makes
// the empty root its cwd (a null cwd). It runs while the init still has
// the privileges chroot needs. The filesystem policy applied later allows
// only the grants, the program, and what the process keeps: its container
// root when only the cwd is null, its cwd when only the root is null.
// Without that rule, ".." from a cwd outside the root would climb into the
// host's tree.
func confineNull(n *initNull) (*nullConfinement, error) {
	c := &nullConfinement{null: n, rules: append([]nullGrant(nil), n.Grants...)}
	if n.RootFD < 0 {
		return c, nil
	}
	rootNull, cwdNull := n.has(specext.Root), n.has(specext.Cwd)
	var kept *os.File
	switch {
	case !rootNull:
		f, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open container root: %w", err)
		}
		kept = f
	case !cwdNull:
		f, err := os.OpenFile(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open process.cwd: %w", err)
		}
		kept = f
	}
	if kept != nil {
		c.rules = append(c.rules, nullGrant{FD: int(kept.Fd()), Dir: true, Writable: true})
	}
	empty := os.NewFile(uintptr(n.RootFD), "null-root")
	if err := linux.Fchdir(empty); err != nil {
		return nil, fmt.Errorf("enter empty root: %w", err)
	}
	if rootNull {
		if err := linux.Chroot("."); err != nil {
			return nil, fmt.Errorf("enter empty root: %w", err)
		}
		if !cwdNull {
			if err := linux.Fchdir(kept); err != nil {
				return nil, fmt.Errorf("return to process.cwd: %w", err)
			}
		}
	}
	return c, nil
}

// apply installs the null policies on the calling thread; nothing but
// the exec may follow.
func (c *nullConfinement) apply() error {
	settings := map[specext.Setting]bool{}
	for _, s := range c.null.Settings {
		settings[s] = true
	}
	for _, e := range c.null.Enforcement {
		if e.Kind == specext.EnforcementFresh {
			// Permissive fallback: a fresh namespace does the job.
			delete(settings, e.Setting)
		}
	}
	var grants []nullns.Grant
	for _, g := range c.rules {
		// A socket needs no filesystem rule: it is used through its fd.
		if !g.Socket {
			grants = append(grants, nullns.Grant{FD: g.FD, Dir: g.Dir, Writable: g.Writable})
		}
	}
	var plan []specext.Enforcement
	for _, e := range c.null.Enforcement {
		if settings[e.Setting] {
			plan = append(plan, e)
		}
	}
	req := nullns.Request{Settings: settings, Grants: grants, ProgramFD: c.null.ProgramFD,
		ABI: c.null.LandlockABI}
	if err := nullns.New(plan).Apply(req); err != nil {
		return fmt.Errorf("apply null settings: %w", err)
	}
	return nil
}

// nullGrant is a filesystem or socket grant as the init holds it.
type nullGrant struct {
	FD                    int
	Dir, Writable, Socket bool
}

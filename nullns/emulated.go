package nullns

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// Emulated enforces null settings with mechanisms that exist on stock
// kernels: no_new_privs, an empty capability set, a Landlock ruleset and a
// seccomp filter, all on the calling thread. The runtime does the rest
// before Apply: the chroot into the shared empty read-only directory (root,
// cwd, mount), the unmapped user namespace (user) and the leaf cgroup with
// a cgroup namespace (cgroup).
//
// For a null cwd with a root that is not null, the runtime must place the
// working directory in a directory outside the container's root and pass
// the root as a grant; the ruleset then denies every lookup from the
// working directory, `..` included.
type Emulated struct{}

// Apply enforces req on the calling thread: no_new_privs, then the
// capability drop, then Landlock, then seccomp. seccomp comes last so that
// its filter never has to allow the calls of the steps before it.
func (Emulated) Apply(req Request) error {
	if !anySetting(req.Settings) {
		return nil
	}
	policy, err := newLandlockPolicy(req)
	if err != nil {
		return err
	}
	spec := newFilterSpec(req.Settings, req.ABI)
	var filter []unix.SockFilter
	if !spec.empty() {
		if filter, err = buildFilter(spec); err != nil {
			return err
		}
	}

	// Both Landlock and seccomp need no_new_privs unless the thread has
	// CAP_SYS_ADMIN, which it is about to lose.
	if err := linux.SetNoNewPrivs(); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if needsNoCapabilities(req.Settings) {
		if err := linux.DropAllCapabilities(); err != nil {
			return fmt.Errorf("drop capabilities: %w", err)
		}
	}
	if policy != nil {
		if err := policy.restrict(); err != nil {
			return err
		}
	}
	if filter != nil {
		if _, err := linux.SeccompSetModeFilter(filter, 0); err != nil {
			return fmt.Errorf("install seccomp filter: %w", err)
		}
	}
	return nil
}

func anySetting[K comparable](s map[K]bool) bool {
	for _, on := range s {
		if on {
			return true
		}
	}
	return false
}

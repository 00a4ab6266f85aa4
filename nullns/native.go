package nullns

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/specext"
)

// Syscalls are the system calls of the native backend. KernelSyscalls
// makes them; tests substitute a recorder, because no released kernel has
// all the features.
type Syscalls interface {
	// SetNoNewPrivs sets no_new_privs on the calling thread.
	SetNoNewPrivs() error
	// DropCapabilities empties the calling thread's capability sets.
	DropCapabilities() error
	// UnshareFS gives the calling thread its own fs_struct (root and
	// working directory), unshare(CLONE_FS).
	UnshareFS() error
	// Fchdir changes the working directory to fd, which may be the
	// FD_FAILFS_ROOT sentinel.
	Fchdir(fd int) error
	// Fchroot changes the root to fd, which may be the FD_FAILFS_ROOT
	// sentinel.
	Fchroot(fd int, flags uint) error
}

// KernelSyscalls returns the Syscalls that call the kernel.
func KernelSyscalls() Syscalls { return kernelSyscalls{} }

type kernelSyscalls struct{}

func (kernelSyscalls) SetNoNewPrivs() error             { return linux.SetNoNewPrivs() }
func (kernelSyscalls) DropCapabilities() error          { return linux.DropAllCapabilities() }
func (kernelSyscalls) UnshareFS() error                 { return linux.Unshare(unix.CLONE_FS) }
func (kernelSyscalls) Fchdir(fd int) error              { return linux.FchdirFD(fd) }
func (kernelSyscalls) Fchroot(fd int, flags uint) error { return linux.Fchroot(fd, flags) }

// Native enforces null settings with the kernel features that Probe found.
// In the init it handles root and cwd (failfs). A null mount is an empty
// mount namespace that the runtime creates at clone or unshare time (see
// SpawnFlagsFor), and a null network, IPC or UTS namespace of the
// null-namespace branch is inherited from the runtime; Apply only drops the
// capabilities a null mount requires. The other settings have no native
// feature and Apply rejects them.
type Native struct {
	// Sys makes the system calls.
	Sys Syscalls
}

// Apply enforces req on the calling thread: no_new_privs (which an
// unprivileged fchroot requires), then the working directory and the root
// into failfs, then the capability drop.
func (n Native) Apply(req Request) error {
	s := req.Settings
	for setting, on := range s {
		if on && !hasNativeApply(setting) {
			r := nativeRequirement(setting)
			return &UnsupportedError{Setting: setting, Enforce: specext.EnforceNative,
				Feature: r.feature, Kernel: r.kernel}
		}
	}
	if !anySetting(s) {
		return nil
	}

	if err := n.Sys.SetNoNewPrivs(); err != nil {
		return fmt.Errorf("set no_new_privs: %w", err)
	}
	if s[specext.Root] || s[specext.Cwd] {
		// Go threads share one fs_struct, and fchroot rejects a shared
		// one: a sibling thread without no_new_privs could otherwise
		// exec a setuid program under the new root.
		if err := n.Sys.UnshareFS(); err != nil {
			return fmt.Errorf("unshare fs_struct: %w", err)
		}
	}
	if s[specext.Cwd] {
		if err := n.Sys.Fchdir(linux.FDFailfsRoot); err != nil {
			return fmt.Errorf("enter failfs as working directory: %w", err)
		}
	}
	if s[specext.Root] {
		if err := n.Sys.Fchroot(linux.FDFailfsRoot, 0); err != nil {
			return fmt.Errorf("enter failfs as root: %w", err)
		}
	}
	if needsNoCapabilities(s) {
		if err := n.Sys.DropCapabilities(); err != nil {
			return fmt.Errorf("drop capabilities: %w", err)
		}
	}
	return nil
}

func hasNativeApply(s specext.Setting) bool {
	switch s {
	case specext.Root, specext.Cwd, specext.Mount, specext.Network, specext.IPC, specext.UTS:
		return true
	}
	return false
}

// SpawnFlags is what the runtime adds to the clone3 or unshare call that
// creates the container's namespaces, for the settings planned as native.
type SpawnFlags struct {
	// Clone3Flags go into clone_args.flags instead of CLONE_NEWNS
	// (CLONE_EMPTY_MNTNS, whose bit the probe found).
	Clone3Flags uint64
	// UnshareFlags go to unshare(2) in the init instead of CLONE_NEWNS when
	// clone3 cannot take the flag (UNSHARE_EMPTY_MNTNS).
	UnshareFlags int
	// Inherit lists the namespace settings the runtime must not create a
	// namespace for: the runtime's own namespace of that kind is already
	// null.
	Inherit []specext.Setting
}

// SpawnFlagsFor returns the spawn flags for plan on the kernel that p
// describes.
func SpawnFlagsFor(plan []specext.Enforcement, p *Probes) SpawnFlags {
	var f SpawnFlags
	for _, e := range plan {
		if e.Kind != specext.EnforcementNative {
			continue
		}
		switch e.Setting {
		case specext.Mount:
			if p.EmptyMntnsClone.Available {
				f.Clone3Flags |= p.CloneEmptyMntnsFlag
			} else {
				f.UnshareFlags |= unshareEmptyMntns
			}
		case specext.Network, specext.IPC, specext.UTS:
			f.Inherit = append(f.Inherit, e.Setting)
		}
	}
	return f
}

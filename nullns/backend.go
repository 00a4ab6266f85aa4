package nullns

import (
	"fmt"

	"github.com/nullrun/nullrun/specext"
)

// Grant is a file or directory that the init holds open at FD and hands to
// the program. Sockets need no grant entry: Landlock does not restrict a
// socket that is already connected or listening.
type Grant struct {
	// FD is the descriptor number in the init, and in the program after
	// exec.
	FD int
	// Dir is true for a directory: the program may then reach what lies
	// beneath it.
	Dir bool
	// Writable allows changes: writing and truncating a file, or creating,
	// removing, renaming and linking beneath a directory.
	Writable bool
}

// Request is what a backend enforces in the container init.
type Request struct {
	// Settings are the null settings to enforce.
	Settings map[specext.Setting]bool
	// Grants are the path grants that the init holds open.
	Grants []Grant
	// ProgramFD is the program that the init will execveat; Landlock allows
	// reading and executing it. -1 means none, so nothing can be executed
	// once a file system ruleset is in place.
	ProgramFD int
	// ABI is the Landlock ABI version from Probe.
	ABI int
}

// Backend enforces null settings on the calling OS thread. The container
// init locks its main goroutine to its thread, calls Apply there as the
// last step before execveat from that same thread, and must not call it
// twice: every step restricts the thread further and cannot be undone.
type Backend interface {
	// Apply enforces req on the calling thread. It returns an
	// *UnsupportedError when the kernel lacks a feature that a setting
	// needs, and otherwise the failing system call's error, wrapped with
	// what it was for. After an error the thread is partly restricted; the
	// init must exit instead of running the program.
	Apply(req Request) error
}

// Planned is the backend for a plan from Plan: each setting goes to the
// backend its enforcement chose, and settings planned as "fresh" are left
// to the runtime, which creates a fresh namespace for them.
type Planned struct {
	// Plan is the enforcement chosen for each setting.
	Plan []specext.Enforcement
	// Native applies the settings planned as native.
	Native Backend
	// Emulated applies the settings planned as emulated, and hardens the
	// native root, cwd and mount with its Landlock and seccomp parts.
	Emulated Backend
}

// New returns the backend for plan on this kernel.
func New(plan []specext.Enforcement) *Planned {
	return &Planned{Plan: plan, Native: Native{Sys: KernelSyscalls()}, Emulated: Emulated{}}
}

// Apply enforces the native settings of req first, then the emulated ones.
// A setting in req that the plan does not list is an error.
//
// A native failfs root or empty mount namespace does not confine `..` from
// a granted directory fd, which resolves up to the top of the fd's mount
// tree. When Landlock is there (req.ABI >= 1) those settings go to the
// emulated backend too, whose ruleset closes that path and whose seccomp
// filter blocks chroot, setns and the mount API.
func (b *Planned) Apply(req Request) error {
	kinds := make(map[specext.Setting]string, len(b.Plan))
	for _, e := range b.Plan {
		kinds[e.Setting] = e.Kind
	}

	native := map[specext.Setting]bool{}
	emulated := map[specext.Setting]bool{}
	for s, on := range req.Settings {
		if !on {
			continue
		}
		switch kinds[s] {
		case specext.EnforcementNative:
			native[s] = true
			if req.ABI >= 1 && (s == specext.Root || s == specext.Cwd || s == specext.Mount) {
				emulated[s] = true
			}
		case specext.EnforcementEmulated:
			emulated[s] = true
		case specext.EnforcementFresh:
		default:
			return fmt.Errorf("apply null %s: the plan has no enforcement for it", s)
		}
	}

	if len(native) > 0 {
		sub := req
		sub.Settings = native
		if err := b.Native.Apply(sub); err != nil {
			return err
		}
	}
	if len(emulated) > 0 {
		sub := req
		sub.Settings = emulated
		if err := b.Emulated.Apply(sub); err != nil {
			return err
		}
	}
	return nil
}

// needsNoCapabilities reports whether any setting in s requires an empty
// capability set: with capabilities a process could chroot or mount its way
// back to a root (root, cwd, mount), act on IDs it does not have (user), or
// signal and trace processes it should not see (pid).
func needsNoCapabilities(s map[specext.Setting]bool) bool {
	return s[specext.Root] || s[specext.Cwd] || s[specext.Mount] || s[specext.User] || s[specext.PID]
}

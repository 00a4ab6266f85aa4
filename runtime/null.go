package runtime

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/nullrun/nullrun/nullns"
	"github.com/nullrun/nullrun/specext"
)

// nullSetup is a container's null settings on the runtime's side: what
// the annotations ask for, how this kernel enforces each setting, and the
// files the runtime opens for the process.
type nullSetup struct {
	cfg         *specext.Config
	enforcement []specext.Enforcement
	grants      []openedGrant
	program     *os.File // opened in the rootfs when the root is null
	root        *os.File // the empty root for a null root or cwd
	landlockABI int
}

// initNull is the null part of the init's configuration.
type initNull struct {
	Settings    []specext.Setting     `json:"settings"`
	Enforcement []specext.Enforcement `json:"enforcement"`
	Grants      []nullGrant           `json:"grants,omitempty"`
	ProgramFD   int                   `json:"programFD"`
	// LandlockABI is the runtime's probe result, so the init needs no
	// probe of its own.
	LandlockABI int `json:"landlockABI"`
	RootFD      int `json:"rootFD"`
}

func (n *initNull) has(s specext.Setting) bool {
	if n == nil {
		return false
	}
	for _, have := range n.Settings {
		if have == s {
			return true
		}
	}
	return false
}

// planNull reads the dev.nullrun.* annotations of spec, checks them
// against the rest of the spec and this kernel, and rewrites the spec's
// namespaces: a null setting replaces the fresh namespace of its kind. It
// returns nil when the spec has no null annotations.
func (r *Runtime) planNull(spec *specs.Spec, passedFDs int) (*nullSetup, error) {
	cfg, err := specext.Parse(spec.Annotations)
	if err != nil || cfg == nil {
		return nil, err
	}
	if err := cfg.Validate(spec, passedFDs); err != nil {
		return nil, err
	}
	if err := checkNullSpec(cfg, spec); err != nil {
		return nil, err
	}
	enforcement, err := nullns.Plan(cfg.Null, cfg.Enforce, r.probes())
	if err != nil {
		// One line per setting from errors.Join; callers read one line.
		return nil, oneLineError{err}
	}
	spec.Linux.Namespaces = cfg.Namespaces(spec.Linux.Namespaces)
	for _, e := range enforcement {
		if e.Kind != specext.EnforcementFresh {
			continue
		}
		// Permissive mode: this kernel cannot null the setting, so the
		// container gets a fresh namespace of the kind, as without the
		// annotation, and the state records it.
		if t, ok := e.Setting.NamespaceType(); ok {
			spec.Linux.Namespaces = append(spec.Linux.Namespaces, specs.LinuxNamespace{Type: t})
		}
	}
	return &nullSetup{cfg: cfg, enforcement: enforcement,
		landlockABI: r.probes().LandlockABI}, nil
}

// checkNullSpec rejects combinations that the emulation on a kernel
// without null namespaces cannot enforce, or that make no sense: a name
// for a null UTS namespace, sysctls of a nulled namespace, a /proc or
// cgroup mount that would show what a null PID or cgroup namespace hides.
func checkNullSpec(cfg *specext.Config, spec *specs.Spec) error {
	if cfg.Has(specext.UTS) && (spec.Hostname != "" || spec.Domainname != "") {
		return fmt.Errorf("null uts: a null UTS namespace has no host name: remove hostname " +
			"and domainname from config.json, or drop uts from " + specext.NullKey)
	}
	for key := range spec.Linux.Sysctl {
		t, _ := sysctlNamespace(key)
		for _, s := range []specext.Setting{specext.Network, specext.IPC, specext.UTS} {
			if nt, _ := s.NamespaceType(); nt == t && cfg.Has(s) {
				return fmt.Errorf("null %s: sysctl %q belongs to that namespace: remove it", s, key)
			}
		}
	}
	if cfg.Has(specext.Root) && len(spec.Mounts) > 0 {
		return fmt.Errorf("null root: mounts %s would stay reachable from the process's cwd: "+
			"remove them", mountDestinations(spec.Mounts))
	}
	if err := checkNullCapabilities(cfg.Null, nil, spec.Process.Capabilities); err != nil {
		return err
	}
	for _, m := range spec.Mounts {
		if cfg.Has(specext.PID) && m.Type == "proc" {
			return fmt.Errorf("null pid: the proc mount at %s would list the host's processes: "+
				"remove it or null mount too", m.Destination)
		}
		if cfg.Has(specext.Cgroup) && m.Type == "cgroup" {
			return fmt.Errorf("null cgroup: the cgroup mount at %s would show the hierarchy: "+
				"remove it", m.Destination)
		}
	}
	if cfg.Has(specext.User) && (spec.Hostname != "" || spec.Domainname != "" ||
		len(spec.Linux.Sysctl) > 0) {
		return fmt.Errorf("null user: hostname, domainname and sysctls cannot be set: the " +
			"process is in its unmapped user namespace before the runtime could set them; " +
			"remove them from config.json")
	}
	if cfg.Has(specext.User) && !cfg.Has(specext.Mount) {
		return fmt.Errorf("null user needs null mount on this kernel: the process enters its " +
			"unmapped user namespace before the runtime starts, so no mounts can be made " +
			"for it afterwards; add mount to " + specext.NullKey)
	}
	return nil
}

// open opens the grants, the program and the empty root in the runtime,
// with the host's view and the runtime's privileges.
//
// On error everything it opened is closed and the socket files it bound
// for listen: grants are removed.
func (n *nullSetup) open(r *Runtime, spec *specs.Spec, rootfs string) (err error) {
	defer func() {
		if err != nil {
			n.close()
			n.removeListenSockets()
		}
	}()
	grants, err := openGrants(n.cfg.Grants)
	if err != nil {
		return err
	}
	n.grants = grants
	if n.cfg.Has(specext.Root) {
		if n.program, err = openProgram(rootfs, spec.Process.Args[0], spec.Process.Env); err != nil {
			return err
		}
	}
	if n.cfg.Has(specext.Root) || n.cfg.Has(specext.Cwd) {
		if n.root, err = r.openNullRoot(); err != nil {
			return err
		}
	}
	return nil
}

// removeListenSockets removes the socket files bound for listen: grants.
func (n *nullSetup) removeListenSockets() {
	for _, s := range n.listenSockets() {
		s.remove()
	}
}

// listenSockets returns the socket files bound for listen: grants.
func (n *nullSetup) listenSockets() []listenSocket {
	var out []listenSocket
	for _, g := range n.grants {
		if g.Kind == specext.GrantUnixListen {
			out = append(out, listenSocket{Path: g.Path, ID: g.socket})
		}
	}
	return out
}

func (n *nullSetup) close() {
	closeGrants(n.grants)
	if n.program != nil {
		n.program.Close()
	}
	if n.root != nil {
		n.root.Close()
	}
}

// place adds the grants to cmd.ExtraFiles at their own fd numbers, after
// the passed fds, and returns the init's null configuration and the new
// count of fds the process keeps (3 .. 3+count-1).
func (n *nullSetup) place(cmd *exec.Cmd, passed int) (*initNull, int) {
	in := &initNull{Settings: n.cfg.NullSettings(), Enforcement: n.enforcement,
		ProgramFD: -1, RootFD: -1, LandlockABI: n.landlockABI}
	for _, g := range n.grants {
		for 3+len(cmd.ExtraFiles) < g.FD {
			// A hole: os/exec closes the fd of a nil entry in the child.
			cmd.ExtraFiles = append(cmd.ExtraFiles, nil)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, g.file)
		in.Grants = append(in.Grants, nullGrant{FD: g.FD, Dir: g.dir,
			Writable: g.Writable, Socket: g.Kind != specext.GrantPath})
		passed = g.FD - 2
	}
	return in, passed
}

// probes returns the kernel probe results, cached under the state root.
func (r *Runtime) probes() *nullns.Probes {
	return nullns.ProbeCached(filepath.Join(r.root, ".nullns-probes.json"))
}

// oneLineError shows a joined error on one line and still unwraps to it.
// Unsupported settings are listed together, with the advice once.
type oneLineError struct{ err error }

func (e oneLineError) Error() string {
	joined, ok := e.err.(interface{ Unwrap() []error })
	if !ok {
		return strings.ReplaceAll(e.err.Error(), "\n", "; ")
	}
	var lacking, other []string
	var mode specext.Enforce
	for _, err := range joined.Unwrap() {
		var u *nullns.UnsupportedError
		if errors.As(err, &u) {
			kernel := u.Kernel
			if kernel != "" && kernel[0] >= '0' && kernel[0] <= '9' {
				kernel = "Linux " + kernel + " and later"
			}
			lacking = append(lacking, fmt.Sprintf("null %s needs %s (%s)", u.Setting, u.Feature, kernel))
			mode = u.Enforce
			continue
		}
		other = append(other, err.Error())
	}
	if len(lacking) == 0 {
		return strings.Join(other, "; ")
	}
	msg := fmt.Sprintf("enforce null settings in %s mode: this kernel lacks what they need: %s; "+
		"run on a kernel that has it", mode, strings.Join(lacking, ", "))
	if mode != specext.EnforcePermissive {
		msg += ", or set " + specext.EnforceKey + "=permissive to fall back to a fresh namespace"
	}
	return strings.Join(append(other, msg), "; ")
}
func (e oneLineError) Unwrap() error { return e.err }

func mountDestinations(mounts []specs.Mount) string {
	var out []string
	for _, m := range mounts {
		out = append(out, m.Destination)
	}
	return strings.Join(out, ", ")
}

// checkNullCapabilities rejects capabilities that undo an emulated null
// network: the process shares the runtime's network namespace, so with
// CAP_SYS_ADMIN it could mount sysfs and procfs and see (and with
// CAP_NET_ADMIN change) the host's network. enforcement, when given,
// skips settings enforced by a fresh namespace.
func checkNullCapabilities(null map[specext.Setting]bool, enforcement []specext.Enforcement,
	c *specs.LinuxCapabilities) error {
	if !null[specext.Network] || c == nil {
		return nil
	}
	for _, e := range enforcement {
		if e.Setting == specext.Network && e.Kind == specext.EnforcementFresh {
			return nil
		}
	}
	for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
		for _, name := range set {
			if name == "CAP_SYS_ADMIN" || name == "CAP_NET_ADMIN" {
				return fmt.Errorf("null network: %s would reach the host's network namespace, "+
					"which the emulation shares: remove it from the capabilities", name)
			}
		}
	}
	return nil
}

package nullns

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/nullrun/nullrun/specext"
)

// maxKnownABI is the newest Landlock ABI whose rights this package knows.
// A newer kernel gets the rights of this ABI.
const maxKnownABI = 10

// Rights granted on path-beneath rules, before masking with what the ABI
// handles.
const (
	// fileRights are the only rights a rule on a non-directory may hold.
	fileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE |
		unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	// readFileRights allow reading and executing a file.
	readFileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE
	// readDirRights allow listing, reading and executing beneath a
	// directory, and connecting to the unix sockets there (ABI 9), which
	// changes nothing in the file system.
	readDirRights = readFileRights | unix.LANDLOCK_ACCESS_FS_READ_DIR |
		unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX
)

// fsRights returns every file system right that Landlock ABI abi handles.
func fsRights(abi int) uint64 {
	var r uint64
	if abi >= 1 {
		r = unix.LANDLOCK_ACCESS_FS_MAKE_SYM<<1 - 1 // EXECUTE through MAKE_SYM
	}
	if abi >= 2 {
		r |= unix.LANDLOCK_ACCESS_FS_REFER
	}
	if abi >= 3 {
		r |= unix.LANDLOCK_ACCESS_FS_TRUNCATE
	}
	if abi >= 5 {
		r |= unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	}
	if abi >= 9 {
		r |= unix.LANDLOCK_ACCESS_FS_RESOLVE_UNIX
	}
	return r
}

// netRights returns every network right that Landlock ABI abi handles.
func netRights(abi int) uint64 {
	var r uint64
	if abi >= 4 {
		r = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 10 {
		r |= unix.LANDLOCK_ACCESS_NET_BIND_UDP | unix.LANDLOCK_ACCESS_NET_CONNECT_SEND_UDP
	}
	return r
}

// landlockRule allows access beneath the file or directory at fd.
type landlockRule struct {
	fd     int
	access uint64
}

// landlockPolicy is the ruleset for a request.
type landlockPolicy struct {
	attr  linux.LandlockRuleset
	rules []landlockRule
}

// newLandlockPolicy returns the ruleset for req, or nil when no setting of
// req has a Landlock part. It fails when req.ABI lacks what a setting needs.
func newLandlockPolicy(req Request) (*landlockPolicy, error) {
	abi := min(req.ABI, maxKnownABI)
	s := req.Settings
	p := &landlockPolicy{}

	if s[specext.Root] || s[specext.Cwd] || s[specext.Mount] {
		if abi < 1 {
			return nil, &UnsupportedError{Setting: firstOf(s, specext.Root, specext.Cwd, specext.Mount),
				Enforce: specext.EnforceStrict, Feature: needLandlock.feature, Kernel: needLandlock.kernel}
		}
		p.attr.HandledAccessFS = fsRights(abi)
		p.addFSRules(req)
	}
	if s[specext.Network] || s[specext.PID] {
		if abi < 6 {
			return nil, &UnsupportedError{Setting: firstOf(s, specext.Network, specext.PID),
				Enforce: specext.EnforceStrict, Feature: needScopes.feature, Kernel: needScopes.kernel}
		}
	}
	if s[specext.Network] {
		// Handled with no rule: every TCP (and from ABI 10 UDP) bind and
		// connect is denied, behind the seccomp socket filter.
		p.attr.HandledAccessNet = netRights(abi)
		p.attr.Scoped |= unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	}
	if s[specext.PID] {
		p.attr.Scoped |= unix.LANDLOCK_SCOPE_SIGNAL
	}

	if p.attr == (linux.LandlockRuleset{}) {
		return nil, nil
	}
	return p, nil
}

// addFSRules allows the granted hierarchies and execution of the program.
// Nothing else is reachable: `..` from a granted directory fd resolves, but
// the result is not beneath any rule, so Landlock denies it.
func (p *landlockPolicy) addFSRules(req Request) {
	handled := p.attr.HandledAccessFS
	for _, g := range req.Grants {
		var access uint64
		switch {
		case g.Dir && g.Writable:
			access = handled
		case g.Dir:
			access = readDirRights
		case g.Writable:
			access = fileRights
		default:
			access = readFileRights
		}
		p.rules = append(p.rules, landlockRule{fd: g.FD, access: access & handled})
	}
	// A ruleset that handles EXECUTE also forbids executing the program
	// itself unless a rule allows it; exec opens it for reading too.
	if req.ProgramFD >= 0 {
		p.rules = append(p.rules, landlockRule{fd: req.ProgramFD, access: readFileRights & handled})
	}
}

// restrict enforces the policy on the calling thread.
func (p *landlockPolicy) restrict() error {
	ruleset, err := linux.LandlockCreateRuleset(p.attr)
	if err != nil {
		return fmt.Errorf("create landlock ruleset: %w", err)
	}
	defer ruleset.Close()

	for _, r := range p.rules {
		if err := linux.LandlockAddPathBeneath(ruleset, r.fd, r.access); err != nil {
			return fmt.Errorf("allow access beneath fd %d: %w", r.fd, err)
		}
	}
	if err := linux.LandlockRestrictSelf(ruleset); err != nil {
		return fmt.Errorf("enforce landlock ruleset: %w", err)
	}
	return nil
}

func firstOf(s map[specext.Setting]bool, candidates ...specext.Setting) specext.Setting {
	for _, c := range candidates {
		if s[c] {
			return c
		}
	}
	return candidates[0]
}

package specext

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Bounds of the fd number N in a dev.nullrun.grant.N key.
const (
	// MinGrantFD is the lowest grant fd, because fds 0-2 are the standard
	// streams.
	MinGrantFD = 3
	// MaxGrantFD is the highest grant fd. Linux starts processes with a
	// soft RLIMIT_NOFILE of 1024, and dup2 or open cannot create an fd at or
	// above the soft limit. So a program under the default limit could not
	// move or reopen a higher grant fd.
	// NOTE: this is a policy bound, not a kernel limit. A container with a
	// higher RLIMIT_NOFILE could use higher fds if the bound were raised.
	MaxGrantFD = 1023
)

// Prefixes of a socket grant value and suffixes of a path grant value.
const (
	unixPrefix   = "unix:"
	listenPrefix = "listen:"
	roSuffix     = ":ro"
	rwSuffix     = ":rw"
)

// GrantKind selects what the runtime does with a grant's path.
type GrantKind int

// The grant kinds.
const (
	// GrantPath opens a file or directory, read-only unless Writable is set.
	GrantPath GrantKind = iota
	// GrantUnixConnect connects to a unix stream socket and hands over the
	// connected socket.
	GrantUnixConnect
	// GrantUnixListen binds a unix stream socket and listens on it, as
	// systemd socket activation does, and hands over the listening socket.
	GrantUnixListen
)

// String returns "path", "unix" or "listen".
func (k GrantKind) String() string {
	switch k {
	case GrantPath:
		return "path"
	case GrantUnixConnect:
		return "unix"
	case GrantUnixListen:
		return "listen"
	}
	return "GrantKind(" + strconv.Itoa(int(k)) + ")"
}

// Grant is one dev.nullrun.grant.N annotation: a host path that the runtime
// opens and hands to the process as fd FD.
//
// A path grant is written PATH, PATH:ro or PATH:rw. The value is split at
// a final ":ro" or ":rw", which is the access mode. Without such a suffix
// the whole value is the path and the mode is read-only, and then the path
// must not contain ':'. So a path with a colon needs an explicit mode:
// "/srv/a:b:ro" is "/srv/a:b" read-only, "/srv/x:ro:rw" is "/srv/x:ro"
// read-write, and "/srv/a:b" is rejected.
//
// A socket grant is written unix:PATH or listen:PATH. Everything after the
// prefix is the path, colons included, except that a final ":ro" or ":rw"
// is rejected because a socket has no access mode.
//
// PATH must be absolute and clean as filepath.Clean leaves it: no "." or
// ".." components, no repeated or trailing slashes, and no NUL bytes.
type Grant struct {
	// FD is the fd number in the process, from MinGrantFD to MaxGrantFD.
	FD int
	// Kind selects whether Path is opened, connected to or listened on.
	Kind GrantKind
	// Path is the absolute, clean host path.
	Path string
	// Writable allows writing beneath Path. Only a GrantPath can be writable.
	Writable bool
}

// Key returns the annotation key of g, such as "dev.nullrun.grant.3".
func (g Grant) Key() string {
	return grantKey(g.FD)
}

// Value returns the canonical annotation value of g. A path grant always
// carries an explicit ":ro" or ":rw".
func (g Grant) Value() string {
	switch g.Kind {
	case GrantUnixConnect:
		return unixPrefix + g.Path
	case GrantUnixListen:
		return listenPrefix + g.Path
	}
	if g.Writable {
		return g.Path + rwSuffix
	}
	return g.Path + roSuffix
}

// String returns the annotation of g as key=value.
func (g Grant) String() string {
	return g.Key() + "=" + g.Value()
}

// parseGrant parses the annotation key=value, where key starts with
// GrantKeyPrefix.
func parseGrant(key, value string) (Grant, error) {
	fd, err := parseGrantFD(key, value)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{FD: fd}

	switch {
	case strings.HasPrefix(value, unixPrefix):
		g.Kind, g.Path = GrantUnixConnect, value[len(unixPrefix):]
	case strings.HasPrefix(value, listenPrefix):
		g.Kind, g.Path = GrantUnixListen, value[len(listenPrefix):]
	case strings.HasSuffix(value, roSuffix):
		g.Path = value[:len(value)-len(roSuffix)]
	case strings.HasSuffix(value, rwSuffix):
		g.Path, g.Writable = value[:len(value)-len(rwSuffix)], true
	default:
		if scheme, _, found := strings.Cut(value, ":"); found && !strings.Contains(scheme, "/") {
			return Grant{}, invalid(key, value,
				"unknown grant type %q; use PATH, PATH:ro, PATH:rw, unix:PATH or listen:PATH", scheme)
		}
		if strings.Contains(value, ":") {
			return Grant{}, invalid(key, value,
				"a path that contains ':' needs an explicit mode; write %q or %q",
				value+roSuffix, value+rwSuffix)
		}
		g.Path = value
	}

	if g.Kind != GrantPath && (strings.HasSuffix(g.Path, roSuffix) || strings.HasSuffix(g.Path, rwSuffix)) {
		kindPrefix := strings.TrimSuffix(value, g.Path)
		pathWithoutMode := g.Path[:len(g.Path)-len(roSuffix)]
		return Grant{}, invalid(key, value,
			"a socket grant takes no :ro or :rw mode; write %s%s", kindPrefix, pathWithoutMode)
	}
	if problem := grantPathProblem(g.Path); problem != "" {
		return Grant{}, invalid(key, value, "%s", problem)
	}
	return g, nil
}

// parseGrantFD returns N from a key of the form dev.nullrun.grant.N.
func parseGrantFD(key, value string) (int, error) {
	digits := key[len(GrantKeyPrefix):]
	if digits == "" {
		return 0, invalid(key, value, "missing fd number; write %s<N> with N from %d to %d",
			GrantKeyPrefix, MinGrantFD, MaxGrantFD)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, invalid(key, value, "fd %q is not a decimal number; write %s<N> with N from %d to %d",
				digits, GrantKeyPrefix, MinGrantFD, MaxGrantFD)
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return 0, invalid(key, value, "fd %q has a leading zero; write the number without it",
			digits)
	}

	// The digits are all ASCII decimal, so Atoi fails only on overflow,
	// which is out of range as well.
	fd, err := strconv.Atoi(digits)
	if err != nil || fd < MinGrantFD || fd > MaxGrantFD {
		return 0, invalid(key, value, "fd %s is out of range; use an fd from %d to %d",
			digits, MinGrantFD, MaxGrantFD)
	}
	return fd, nil
}

// grantPathProblem returns what is wrong with p, or "" when p is absolute
// and clean.
func grantPathProblem(p string) string {
	switch {
	case p == "":
		return "path is empty; give an absolute host path"
	case strings.ContainsRune(p, 0):
		return "path contains a NUL byte"
	case !filepath.IsAbs(p):
		return fmt.Sprintf("path %q is not absolute; give an absolute host path", p)
	case filepath.Clean(p) != p:
		return fmt.Sprintf("path %q is not clean; write %q", p, filepath.Clean(p))
	}
	return ""
}

package specext

import (
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotation keys. A grant key is GrantKeyPrefix followed by the fd number.
const (
	// Prefix starts every annotation that this package reads.
	Prefix = "dev.nullrun."
	// NullKey lists the null settings.
	NullKey = Prefix + "null"
	// EnforceKey selects the enforcement mode.
	EnforceKey = Prefix + "enforce"
	// GrantKeyPrefix starts a grant key, such as "dev.nullrun.grant.3".
	GrantKeyPrefix = Prefix + "grant."
)

// Setting is one thing that a process can be given none of: a namespace
// kind, the root directory or the working directory.
type Setting string

// The null settings. Each of the first eight is spelled like the
// linux.namespaces type of the kind it nulls.
const (
	Mount   Setting = "mount"
	Network Setting = "network"
	IPC     Setting = "ipc"
	UTS     Setting = "uts"
	User    Setting = "user"
	PID     Setting = "pid"
	Cgroup  Setting = "cgroup"
	Time    Setting = "time"
	Root    Setting = "root"
	Cwd     Setting = "cwd"
)

// Settings lists all null settings in canonical order.
var Settings = []Setting{Mount, Network, IPC, UTS, User, PID, Cgroup, Time, Root, Cwd}

// AllSettings is the dev.nullrun.null item that stands for every setting.
const AllSettings = "all"

// namespaceTypes maps each setting that names a namespace kind to its OCI
// linux.namespaces type. Root and Cwd have no namespace.
var namespaceTypes = map[Setting]specs.LinuxNamespaceType{
	Mount:   specs.MountNamespace,
	Network: specs.NetworkNamespace,
	IPC:     specs.IPCNamespace,
	UTS:     specs.UTSNamespace,
	User:    specs.UserNamespace,
	PID:     specs.PIDNamespace,
	Cgroup:  specs.CgroupNamespace,
	Time:    specs.TimeNamespace,
}

// NamespaceType returns the linux.namespaces type that s nulls, and false
// for Root, Cwd and unknown settings.
func (s Setting) NamespaceType() (specs.LinuxNamespaceType, bool) {
	t, ok := namespaceTypes[s]
	return t, ok
}

// Enforce is the enforcement mode, which decides what happens when the
// kernel lacks the feature for a null setting.
type Enforce string

// The enforcement modes.
const (
	// EnforceStrict accepts a native feature or an emulation with the same
	// guarantee, and rejects the container otherwise. It is the default.
	EnforceStrict Enforce = "strict"
	// EnforceNative accepts kernel features only.
	EnforceNative Enforce = "native"
	// EnforcePermissive falls back to a fresh namespace and records the
	// enforcement actually used in the container state.
	EnforcePermissive Enforce = "permissive"
)

// enforceModes lists the modes in the order that help text shows them.
var enforceModes = []Enforce{EnforceStrict, EnforceNative, EnforcePermissive}

// Config is the parsed form of the dev.nullrun.* annotations.
type Config struct {
	// Null holds the null settings. A null Mount implies a null Root and
	// Cwd, and Parse adds them. Parse never leaves it nil.
	Null map[Setting]bool
	// Enforce is the enforcement mode; Parse sets EnforceStrict when the
	// annotation is absent.
	Enforce Enforce
	// Grants are the file descriptors to hand to the process, sorted by FD.
	Grants []Grant
}

// Has reports whether s is nulled. It returns false on a nil Config.
func (c *Config) Has(s Setting) bool {
	return c != nil && c.Null[s]
}

// NullSettings returns the null settings in the order of Settings.
func (c *Config) NullSettings() []Setting {
	var out []Setting
	for _, s := range Settings {
		if c.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// Annotations renders c in canonical form: settings in the order of
// Settings, the enforcement mode always present and every path grant with
// an explicit ":ro" or ":rw". Parse returns a Config equal to c for the
// result when c came from Parse.
func (c *Config) Annotations() map[string]string {
	if c == nil {
		return nil
	}
	out := map[string]string{EnforceKey: string(c.Enforce)}
	if names := c.NullSettings(); len(names) > 0 {
		items := make([]string, len(names))
		for i, s := range names {
			items[i] = string(s)
		}
		out[NullKey] = strings.Join(items, ",")
	}
	for _, g := range c.Grants {
		out[g.Key()] = g.Value()
	}
	return out
}

// Namespaces returns a copy of ns without the entries that a null setting
// replaces: those of a nulled kind that create a fresh namespace (no path).
// Entries with a path are kept, because Validate rejects them and dropping
// them here would hide the conflict. On a nil Config it returns a copy of ns.
func (c *Config) Namespaces(ns []specs.LinuxNamespace) []specs.LinuxNamespace {
	out := make([]specs.LinuxNamespace, 0, len(ns))
	for _, n := range ns {
		if n.Path == "" && c.nullsNamespace(n.Type) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// nullsNamespace reports whether c nulls the namespace kind t.
func (c *Config) nullsNamespace(t specs.LinuxNamespaceType) bool {
	for s, nt := range namespaceTypes {
		if nt == t && c.Has(s) {
			return true
		}
	}
	return false
}

// sortGrants orders grants by FD.
func sortGrants(grants []Grant) {
	slices.SortFunc(grants, func(a, b Grant) int { return a.FD - b.FD })
}

// grantKey returns the annotation key for fd.
func grantKey(fd int) string {
	return GrantKeyPrefix + strconv.Itoa(fd)
}

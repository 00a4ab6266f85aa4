package nsenter

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Namespace names an existing namespace to join.
type Namespace struct {
	// Type is the /proc/PID/ns name ("user", "mnt", "net", "ipc", "uts",
	// "pid", "cgroup", "time"); the runtime-spec names "mount" and
	// "network" are accepted too.
	Type string
	// Path is a namespace file such as /proc/42/ns/net or a bind mount
	// of one.
	Path string
}

// Request is the namespace work the child does before the Go runtime
// starts: joins, a new user namespace with its ID maps, other new
// namespaces, a fork when a pid or time namespace needs one, and, after
// an optional pause, a cgroup namespace and the null user.
type Request struct {
	// Join lists existing namespaces, at most one of each type.
	Join []Namespace
	// Unshare lists namespace types to create. "cgroup" is rejected:
	// set CgroupNamespace instead, so that the namespace is created
	// after the parent has placed the process in its cgroup.
	Unshare []string
	// UIDMappings and GIDMappings are written for a new user namespace;
	// either may be empty, which leaves that map unset. The process
	// switches to uid (gid) 0 when the map contains container ID 0.
	UIDMappings, GIDMappings []specs.LinuxIDMapping
	// SetgroupsDeny writes "deny" to /proc/PID/setgroups of a new user
	// namespace before its gid map.
	SetgroupsDeny bool
	// TimeOffsets are written to /proc/PID/timens_offsets of a new time
	// namespace; the keys are "monotonic" and "boottime".
	TimeOffsets map[string]specs.LinuxTimeOffset

	// Pause makes the constructor stop after it has sent the PID of the
	// process that runs Go main, so Start returns with that PID while
	// the process waits. The caller places it in its cgroup and then
	// calls Resume, which runs the steps below and lets Go main start.
	Pause bool
	// CgroupNamespace creates a cgroup namespace after the pause, whose
	// root is the cgroup the process is in by then. It needs Pause.
	CgroupNamespace bool
	// NullUser, when set, makes the process switch to these host IDs
	// after the pause (setgroups to an empty list, setresgid,
	// setresuid) and then create a user namespace without ID maps. The
	// process reads its IDs as the overflow IDs (65534), DAC checks on
	// host files use these IDs, and it cannot switch IDs again. It
	// stays non-dumpable. It needs Pause and excludes a user namespace
	// in Join or Unshare.
	//
	// NOTE: a host process running as NullUser.UID owns the new user
	// namespace and so holds every capability in it. Use a uid that no
	// host process runs as.
	NullUser *IDs
	// NullUserNamespace, with NullUser, is an existing unmapped user
	// namespace owned by NullUser.UID (/proc/PID/ns/user of a process in
	// it) that the process joins after the switch, instead of creating
	// one: an exec into a container with a null user.
	NullUserNamespace string
}

// IDs is a host uid and gid.
type IDs struct {
	UID, GID uint32
}

type nsType struct {
	name string
	flag uint32
}

// nsTypes is the order joins are sent in, the one of runc's
// configs.NamespaceTypes. The constructor keeps this order within each
// of its join passes.
var nsTypes = []nsType{
	{"user", unix.CLONE_NEWUSER},
	{"ipc", unix.CLONE_NEWIPC},
	{"uts", unix.CLONE_NEWUTS},
	{"net", unix.CLONE_NEWNET},
	{"pid", unix.CLONE_NEWPID},
	{"mnt", unix.CLONE_NEWNS},
	{"cgroup", unix.CLONE_NEWCGROUP},
	{"time", unix.CLONE_NEWTIME},
}

var specNames = map[string]string{"mount": "mnt", "network": "net"}

// lookupType returns the position in nsTypes of a type name.
func lookupType(name string) (int, error) {
	if n, ok := specNames[name]; ok {
		name = n
	}
	for i, t := range nsTypes {
		if t.name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("invalid namespace type %q: use one of user, mnt, net, ipc, uts, pid, cgroup, time", name)
}

// encoded is a validated request ready to send.
type encoded struct {
	msg      []byte
	newUser  bool
	newTime  bool
	mappedID uint32
}

func (r *Request) encode() (*encoded, error) {
	joins := make([]int, len(r.Join))
	var joined uint32
	for i, ns := range r.Join {
		t, err := lookupType(ns.Type)
		if err != nil {
			return nil, fmt.Errorf("join namespace %s: %w", ns.Path, err)
		}
		if ns.Path == "" {
			return nil, fmt.Errorf("join %s namespace: path is empty", nsTypes[t].name)
		}
		if len(ns.Path) >= unix.PathMax {
			return nil, fmt.Errorf("join %s namespace %.40s...: path longer than %d bytes", nsTypes[t].name, ns.Path, unix.PathMax-1)
		}
		if joined&nsTypes[t].flag != 0 {
			return nil, fmt.Errorf("join %s namespace %s: another %s namespace is already listed", nsTypes[t].name, ns.Path, nsTypes[t].name)
		}
		joined |= nsTypes[t].flag
		joins[i] = t
	}

	var unshare uint32
	for _, name := range r.Unshare {
		t, err := lookupType(name)
		if err != nil {
			return nil, fmt.Errorf("unshare namespace: %w", err)
		}
		flag := nsTypes[t].flag
		switch {
		case flag == unix.CLONE_NEWCGROUP:
			return nil, errors.New("unshare cgroup namespace: set CgroupNamespace and Pause instead of listing it in Unshare, so that it is created after the process is placed in its cgroup")
		case unshare&flag != 0:
			return nil, fmt.Errorf("unshare %s namespace: listed twice", nsTypes[t].name)
		case joined&flag != 0 && flag != unix.CLONE_NEWUSER:
			return nil, fmt.Errorf("unshare %s namespace: a %s namespace to join is listed too: keep one", nsTypes[t].name, nsTypes[t].name)
		}
		unshare |= flag
	}

	e := &encoded{newUser: unshare&unix.CLONE_NEWUSER != 0, newTime: unshare&unix.CLONE_NEWTIME != 0}
	if err := r.validateMaps(e); err != nil {
		return nil, err
	}
	pauseSteps, err := r.validatePause(joined | unshare)
	if err != nil {
		return nil, err
	}

	// Send the joins in nsTypes order, whatever the caller's order.
	order := make([]int, len(r.Join))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(joins[a], joins[b]) })
	for _, i := range order {
		e.msg = appendMessage(e.msg, reqJoin, uint32Bytes(nsTypes[joins[i]].flag), []byte(r.Join[i].Path))
	}
	if unshare != 0 {
		e.msg = appendMessage(e.msg, reqUnshare, uint32Bytes(unshare))
	}
	if len(r.TimeOffsets) > 0 {
		e.msg = appendMessage(e.msg, reqTimensSync)
	}
	if r.Pause {
		var ids IDs
		if r.NullUser != nil {
			ids = *r.NullUser
		}
		e.msg = appendMessage(e.msg, reqPause, uint32Bytes(pauseSteps), uint32Bytes(ids.UID), uint32Bytes(ids.GID))
	}
	if r.NullUserNamespace != "" {
		e.msg = appendMessage(e.msg, reqNullUserns, []byte(r.NullUserNamespace))
	}
	e.msg = appendMessage(e.msg, reqEnd)
	return e, nil
}

func (r *Request) validateMaps(e *encoded) error {
	if !e.newUser && (len(r.UIDMappings) > 0 || len(r.GIDMappings) > 0 || r.SetgroupsDeny) {
		return errors.New("set ID maps: no new user namespace is requested: add \"user\" to Unshare")
	}
	for _, m := range [][]specs.LinuxIDMapping{r.UIDMappings, r.GIDMappings} {
		for _, r := range m {
			if r.Size == 0 {
				return fmt.Errorf("set ID maps: range %d %d %d has size 0", r.ContainerID, r.HostID, r.Size)
			}
		}
	}
	if mapsID0(r.UIDMappings) {
		e.mappedID |= mappedUID0
	}
	if mapsID0(r.GIDMappings) {
		e.mappedID |= mappedGID0
	}

	if !e.newTime && len(r.TimeOffsets) > 0 {
		return errors.New("set time offsets: no new time namespace is requested: add \"time\" to Unshare")
	}
	for clock := range r.TimeOffsets {
		if clock != "monotonic" && clock != "boottime" {
			return fmt.Errorf("set time offsets: invalid clock %q: use monotonic or boottime", clock)
		}
	}
	return nil
}

// validatePause checks the steps after the pause against the namespaces
// the request joins or creates (clone flags) and returns them as
// pause* bits.
func (r *Request) validatePause(namespaces uint32) (uint32, error) {
	var steps uint32
	if r.CgroupNamespace {
		if !r.Pause {
			return 0, errors.New("unshare cgroup namespace: set Pause too, because the parent must place the process in its cgroup before the namespace is created")
		}
		if namespaces&unix.CLONE_NEWCGROUP != 0 {
			return 0, errors.New("unshare cgroup namespace: a cgroup namespace to join is listed too: keep one")
		}
		steps |= pauseCgroupns
	}
	if r.NullUser == nil {
		if r.NullUserNamespace != "" {
			return 0, errors.New("join null user namespace: set NullUser too, the IDs that own it")
		}
		return steps, nil
	}

	ids := *r.NullUser
	switch {
	case !r.Pause:
		return 0, errors.New("set null user: set Pause too, because the null user is entered after the pause, once the parent has placed the process in its cgroup")
	case namespaces&unix.CLONE_NEWUSER != 0:
		return 0, errors.New("set null user: a user namespace to join or create is listed too: the null user replaces it, so keep one")
	case ids.UID == 0:
		return 0, errors.New("set null user: uid 0 is invalid, because an unmapped user namespace over host uid 0 would still own root's files: use an unprivileged uid such as 65534")
	case ids.GID == 0:
		return 0, errors.New("set null user: gid 0 is invalid, because the process would keep the access of host gid 0 to files: use an unprivileged gid such as 65534")
	case ids.UID == math.MaxUint32 || ids.GID == math.MaxUint32:
		return 0, fmt.Errorf("set null user: uid %d, gid %d: 4294967295 is invalid, because setresuid and setresgid read it as -1 and leave the ID unchanged", ids.UID, ids.GID)
	}
	return steps | pauseNullUser, nil
}

func mapsID0(m []specs.LinuxIDMapping) bool {
	for _, r := range m {
		if r.ContainerID == 0 && r.Size > 0 {
			return true
		}
	}
	return false
}

// formatIDMap returns the text for /proc/PID/uid_map or gid_map, which
// the kernel accepts only as one write.
func formatIDMap(m []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, r := range m {
		fmt.Fprintf(&b, "%d %d %d\n", r.ContainerID, r.HostID, r.Size)
	}
	return b.String()
}

func formatTimeOffsets(offsets map[string]specs.LinuxTimeOffset) string {
	var b strings.Builder
	for _, clock := range slices.Sorted(maps.Keys(offsets)) {
		o := offsets[clock]
		fmt.Fprintf(&b, "%s %d %d\n", clock, o.Secs, o.Nanosecs)
	}
	return b.String()
}

package runtime

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cloneFlags maps OCI namespace types to their CLONE_NEW* flags.
var cloneFlags = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// procNSName maps OCI namespace types to their names under /proc/PID/ns.
var procNSName = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

// rlimitByName maps OCI rlimit types to their resource numbers.
var rlimitByName = map[string]int{
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
}

// namespacePlan splits a spec's namespaces into the ones to create and the
// ones to join by path.
type namespacePlan struct {
	create map[specs.LinuxNamespaceType]bool
	join   []specs.LinuxNamespace
}

func planNamespaces(linux *specs.Linux) namespacePlan {
	p := namespacePlan{create: map[specs.LinuxNamespaceType]bool{}}
	for _, ns := range linux.Namespaces {
		if ns.Path == "" {
			p.create[ns.Type] = true
		} else {
			p.join = append(p.join, ns)
		}
	}
	return p
}

// has reports whether the container gets a namespace of type t of its own,
// created or joined.
func (p namespacePlan) has(t specs.LinuxNamespaceType) bool {
	if p.create[t] {
		return true
	}
	for _, ns := range p.join {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// userNS reports whether the container runs in a user namespace other than
// the caller's.
func (p namespacePlan) userNS() bool { return p.has(specs.UserNamespace) }

package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// defaultSpec returns the starter configuration `spec` writes. It has the
// same content as the one `runc spec` (runc 1.1.5) writes, except that
// ociVersion is the runtime-spec version nullrun is built against.
func defaultSpec() *specs.Spec {
	// A fresh slice for each set, so changing one set leaves the others.
	caps := func() []string {
		return []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	}
	spec := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: true,
			Args:     []string{"sh"},
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
			},
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps(),
				Effective: caps(),
				Permitted: caps(),
				Ambient:   caps(),
			},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024},
			},
			NoNewPrivileges: true,
		},
		Root: &specs.Root{Path: "rootfs", Readonly: true},
		// runc's host name, so a starter bundle is the same from either tool.
		Hostname: "runc",
		Mounts:   defaultMounts(),
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				// Deny every device; the runtime adds the default allow list.
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi",
				"/proc/asound",
				"/proc/kcore",
				"/proc/keys",
				"/proc/latency_stats",
				"/proc/timer_list",
				"/proc/timer_stats",
				"/proc/sched_debug",
				"/sys/firmware",
				"/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus",
				"/proc/fs",
				"/proc/irq",
				"/proc/sys",
				"/proc/sysrq-trigger",
			},
		},
	}

	// On a host with only cgroup v2, a cgroup namespace hides the hierarchy
	// above the container. runc adds it there too, but not on v1 or hybrid.
	if cgroups.IsCgroup2UnifiedMode() {
		spec.Linux.Namespaces = append(spec.Linux.Namespaces,
			specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return spec
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{
			Destination: "/proc",
			Type:        "proc",
			Source:      "proc",
		},
		{
			Destination: "/dev",
			Type:        "tmpfs",
			Source:      "tmpfs",
			Options:     []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
		},
		{
			Destination: "/dev/pts",
			Type:        "devpts",
			Source:      "devpts",
			Options: []string{
				"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
			},
		},
		{
			Destination: "/dev/shm",
			Type:        "tmpfs",
			Source:      "shm",
			Options:     []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
		},
		{
			Destination: "/dev/mqueue",
			Type:        "mqueue",
			Source:      "mqueue",
			Options:     []string{"nosuid", "noexec", "nodev"},
		},
		{
			Destination: "/sys",
			Type:        "sysfs",
			Source:      "sysfs",
			Options:     []string{"nosuid", "noexec", "nodev", "ro"},
		},
		{
			Destination: "/sys/fs/cgroup",
			Type:        "cgroup",
			Source:      "cgroup",
			Options:     []string{"nosuid", "noexec", "nodev", "relatime", "ro"},
		},
	}
}

// makeRootless adapts spec for a container started by an unprivileged
// user, as `runc spec --rootless` does: a user namespace that maps the
// caller's effective IDs to 0, no network namespace (an unprivileged user
// cannot configure one), /sys bind-mounted because sysfs cannot be mounted
// without owning the network namespace, no uid=/gid= mount options the
// mapping could not satisfy, and no cgroup resources.
func makeRootless(spec *specs.Spec) {
	var namespaces []specs.LinuxNamespace
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace && ns.Type != specs.UserNamespace {
			namespaces = append(namespaces, ns)
		}
	}
	spec.Linux.Namespaces = append(namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})

	spec.Linux.UIDMappings = []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1},
	}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1},
	}

	mounts := make([]specs.Mount, 0, len(spec.Mounts))
	for _, m := range spec.Mounts {
		if filepath.Clean(m.Destination) == "/sys" {
			mounts = append(mounts, specs.Mount{
				Destination: "/sys",
				Type:        "none",
				Source:      "/sys",
				Options:     []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
			})
			continue
		}
		var options []string
		for _, opt := range m.Options {
			if !strings.HasPrefix(opt, "uid=") && !strings.HasPrefix(opt, "gid=") {
				options = append(options, opt)
			}
		}
		m.Options = options
		mounts = append(mounts, m)
	}
	spec.Mounts = mounts

	spec.Linux.Resources = nil
}

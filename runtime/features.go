package runtime

import (
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/cgroups/systemd"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/nullrun/nullrun/runtime/internal/seccomp"
)

// Annotation keys of the features document.
const (
	// AnnotationVersion is nullrun's version. Features sets it from the
	// module's build information; the command line sets its stamped one.
	AnnotationVersion = "dev.nullrun.version"
	// AnnotationCommit is the commit nullrun was built from.
	AnnotationCommit = "dev.nullrun.commit"
	// annotationLibseccompVersion is the key runc uses for the version of
	// the libseccomp library it is linked with.
	annotationLibseccompVersion = "io.github.seccomp.libseccomp.version"
)

// minOCIVersion is the oldest runtime-spec version whose config.json this
// runtime accepts: validateVersion takes every 1.x version.
const minOCIVersion = "1.0.0"

// knownHooks are the hook names the runtime runs, in lifecycle order.
var knownHooks = []string{
	"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
}

// NOTE: the seccomp lists below repeat what runtime/internal/seccomp
// accepts, because that package does not export its tables. A test
// compiles a profile with every entry, so an entry it rejects fails there.
var (
	knownSeccompActions = []specs.LinuxSeccompAction{
		specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
		specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify,
	}
	knownSeccompOperators = []specs.LinuxSeccompOperator{
		specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual,
	}
	// knownSeccompArchs are the architectures the seccomp package names.
	// Features lists only those that usableSeccompArchs finds usable.
	knownSeccompArchs = []specs.Arch{
		specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
		specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL,
		specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64,
		specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
		specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K,
		specs.ArchSH, specs.ArchSHEB,
	}
	knownSeccompFlags = []specs.LinuxSeccompFlag{
		specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
		specs.LinuxSeccompFlagWaitKillableRecv, "SECCOMP_FILTER_FLAG_TSYNC",
	}
)

// Features returns the runtime-spec features document of this build: the
// spec versions, hooks, mount options, namespaces, capabilities and
// seccomp values it accepts, and which optional subsystems it has.
//
// Cgroup.Systemd reports whether the systemd driver can be used on this
// host (systemd is PID 1), because --systemd-cgroup is rejected otherwise.
// The runtime-spec defines the field as "compiled in", which is always
// true for this build.
func Features() *features.Features {
	yes, no := true, false
	systemdRunning := systemd.IsRunningSystemd()

	return &features.Features{
		OCIVersionMin: minOCIVersion,
		OCIVersionMax: specs.Version,
		Hooks:         slices.Clone(knownHooks),
		MountOptions:  knownMountOptions(),
		Linux: &features.Linux{
			Namespaces:   knownNamespaces(),
			Capabilities: knownCapabilities(),
			Cgroup: &features.Cgroup{
				V1:          &yes,
				V2:          &yes,
				Systemd:     &systemdRunning,
				SystemdUser: &no,
				Rdma:        &yes,
			},
			Seccomp: &features.Seccomp{
				Enabled:    &yes,
				Actions:    stringsOf(knownSeccompActions),
				Operators:  stringsOf(knownSeccompOperators),
				Archs:      stringsOf(usableSeccompArchs()),
				KnownFlags: stringsOf(knownSeccompFlags),
			},
			Apparmor:        &features.Apparmor{Enabled: &no},
			Selinux:         &features.Selinux{Enabled: &no},
			IntelRdt:        &features.IntelRdt{Enabled: &no},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &no}},
			NetDevices:      &features.NetDevices{Enabled: &no},
		},
		Annotations: map[string]string{
			AnnotationVersion:           buildVersion(),
			annotationLibseccompVersion: libseccompVersion(),
		},
	}
}

// usableSeccompArchs returns the architectures a profile can name on this
// host: libseccomp rejects an architecture of the other byte order than
// the native one, and the ones newer than the linked library (libseccomp
// 2.5.4 has no loongarch64, m68k or sh). Each one is probed by compiling
// a profile that names it.
func usableSeccompArchs() []specs.Arch {
	var usable []specs.Arch
	for _, arch := range knownSeccompArchs {
		profile := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{arch}}
		filter, _, err := seccomp.Compile(profile)
		if err != nil {
			continue
		}
		filter.Release()
		usable = append(usable, arch)
	}
	return usable
}

// knownMountOptions returns every mount option name that
// parseMountOptions turns into mount flags, propagation or recursive mount
// attributes, sorted. Anything else is passed to the filesystem.
func knownMountOptions() []string {
	var names []string
	names = slices.AppendSeq(names, maps.Keys(mountFlagOptions))
	names = slices.AppendSeq(names, maps.Keys(propagationOptions))
	names = slices.AppendSeq(names, maps.Keys(recursiveOptions))
	slices.Sort(names)
	return names
}

// knownNamespaces returns the namespace types the runtime can create or
// join, sorted.
func knownNamespaces() []string {
	var names []string
	for t := range cloneFlags {
		names = append(names, string(t))
	}
	slices.Sort(names)
	return names
}

// knownCapabilities returns the "CAP_" names of every capability that
// moby/sys/capability defines, in capability number order. The running
// kernel may support fewer.
func knownCapabilities() []string {
	var names []string
	for _, c := range capability.ListKnown() {
		names = append(names, "CAP_"+strings.ToUpper(c.String()))
	}
	return names
}

func stringsOf[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// buildVersion returns the main module's version from the build
// information: a tag, a pseudo-version or "(devel)".
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "unknown"
}

func libseccompVersion() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

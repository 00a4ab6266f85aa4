package nullns

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/specext"
)

// Offsets into struct seccomp_data. Arguments are read as their low 32 bits
// (little-endian layout), which is all the kernel looks at for the int flags
// and families that the filter checks.
const (
	offsetNr   = 0
	offsetArch = 4
	offsetArg0 = 16
	offsetArg1 = 24
)

// offsetArg returns the offset of the low 32 bits of argument i.
func offsetArg(i int) uint32 { return offsetArg0 + 8*uint32(i) }

// errnoRule makes system call nr fail with errno.
type errnoRule struct {
	nr    uint32
	errno unix.Errno
}

// argCheck is "argument arg is not value": true makes its rule deny the
// call. With wide, the high 32 bits must be 0 too (pointers, 64-bit
// values); otherwise only the low 32 bits count (pid_t, int).
type argCheck struct {
	arg   int
	value uint32
	wide  bool
}

// argRule makes system call nr fail with errno when any of its checks
// holds, and allows it otherwise.
type argRule struct {
	nr     uint32
	checks []argCheck
	errno  unix.Errno
}

// filterSpec is the policy of the seccomp filter for a set of settings.
type filterSpec struct {
	errnos   []errnoRule
	argRules []argRule
	// unixStreamOnly: socket(AF_UNIX) fails with EACCES and socketpair
	// only makes stream sockets, because Landlock before ABI 9 cannot
	// confine which named sockets a process connects or sends to.
	unixStreamOnly bool
	// maxSyscall, when not 0, makes every system call with a higher
	// number fail with ENOSYS.
	maxSyscall uint32
	// socketFamily: socket and socketpair fail with ENONET unless the
	// family is AF_UNIX.
	socketFamily bool
	// cloneNeedsThread: clone without CLONE_THREAD fails with EPERM.
	cloneNeedsThread bool
	// noMountNamespace: clone and unshare with CLONE_NEWNS (or
	// UNSHARE_EMPTY_MNTNS) and setns to any mount namespace fail with EPERM.
	noMountNamespace bool
}

func (f *filterSpec) deny(errno unix.Errno, nrs ...uint32) {
	for _, nr := range nrs {
		if !slices.ContainsFunc(f.errnos, func(r errnoRule) bool { return r.nr == nr }) {
			f.errnos = append(f.errnos, errnoRule{nr: nr, errno: errno})
		}
	}
}

// denyUnless adds a rule that nr fails with errno when any check holds.
// A call that already has a plain errno rule keeps it.
func (f *filterSpec) denyUnless(errno unix.Errno, nr uint32, checks ...argCheck) {
	if slices.ContainsFunc(f.errnos, func(r errnoRule) bool { return r.nr == nr }) ||
		slices.ContainsFunc(f.argRules, func(r argRule) bool { return r.nr == nr }) {
		return
	}
	f.argRules = append(f.argRules, argRule{nr: nr, checks: checks, errno: errno})
}

func (f *filterSpec) empty() bool {
	return len(f.errnos) == 0 && len(f.argRules) == 0 && !f.socketFamily &&
		!f.cloneNeedsThread && !f.noMountNamespace && !f.unixStreamOnly
}

// newFilterSpec returns the seccomp policy for the null settings in
// settings. Settings without a seccomp part (cwd, cgroup, time) add nothing.
// abi is the Landlock ABI, which decides what the filter must cover in its
// place.
func newFilterSpec(settings map[specext.Setting]bool, abi int) *filterSpec {
	f := &filterSpec{}
	for _, s := range specext.Settings {
		if settings[s] {
			addSettingRules(f, s, abi)
		}
	}
	if !f.empty() {
		// io_uring performs opens, connects, socket creation and xattr
		// changes without entering the system calls the rules above
		// inspect, so every null setting that relies on the filter
		// closes it. EPERM is what kernel.io_uring_disabled=2 returns, so
		// programs already treat it as "no io_uring here" and fall back.
		f.deny(unix.EPERM, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER,
			unix.SYS_IO_URING_REGISTER)
		// A system call newer than these rules could be a new path to
		// what they refuse (as setxattrat was to setxattr).
		f.maxSyscall = maxKnownSyscall
	}
	// argRules are checked after the plain rules, so a call with a plain
	// rule never reaches them; drop the ones shadowed that way.
	f.argRules = slices.DeleteFunc(f.argRules, func(r argRule) bool {
		return slices.ContainsFunc(f.errnos, func(e errnoRule) bool { return e.nr == r.nr })
	})
	return f
}

// buildFilter compiles spec into a classic BPF program for this
// architecture. A foreign architecture or x32 system call kills the
// process: the rules name native system call numbers only, so any other
// calling convention would bypass them.
func buildFilter(spec *filterSpec) ([]unix.SockFilter, error) {
	var a assembler
	a.load(offsetArch)
	a.jumpIf(unix.BPF_JEQ, auditArch, "", "kill")
	a.load(offsetNr)
	if x32SyscallBit != 0 {
		a.jumpIf(unix.BPF_JGE, x32SyscallBit, "kill", "")
	}
	if spec.maxSyscall != 0 {
		a.jumpIf(unix.BPF_JGT, spec.maxSyscall, errnoLabel(unix.ENOSYS), "")
	}

	for _, r := range spec.errnos {
		a.jumpIf(unix.BPF_JEQ, r.nr, errnoLabel(r.errno), "")
	}
	for i, r := range spec.argRules {
		a.jumpIf(unix.BPF_JEQ, r.nr, fmt.Sprintf("args-%d", i), "")
	}
	if spec.socketFamily || spec.unixStreamOnly {
		a.jumpIf(unix.BPF_JEQ, unix.SYS_SOCKET, "socket", "")
		a.jumpIf(unix.BPF_JEQ, unix.SYS_SOCKETPAIR, "socketpair", "")
	}
	if spec.cloneNeedsThread || spec.noMountNamespace {
		a.jumpIf(unix.BPF_JEQ, unix.SYS_CLONE, "clone", "")
	}
	if spec.noMountNamespace {
		a.jumpIf(unix.BPF_JEQ, unix.SYS_UNSHARE, "unshare", "")
		a.jumpIf(unix.BPF_JEQ, unix.SYS_SETNS, "setns", "")
	}
	a.ret(unix.SECCOMP_RET_ALLOW)

	for i, r := range spec.argRules {
		a.label(fmt.Sprintf("args-%d", i))
		for _, c := range r.checks {
			a.load(offsetArg(c.arg))
			a.jumpIf(unix.BPF_JEQ, c.value, "", errnoLabel(r.errno))
			if c.wide {
				a.load(offsetArg(c.arg) + 4)
				a.jumpIf(unix.BPF_JEQ, 0, "", errnoLabel(r.errno))
			}
		}
		a.ret(unix.SECCOMP_RET_ALLOW)
	}
	if spec.socketFamily || spec.unixStreamOnly {
		// socket and socketpair share the family check; socket(AF_UNIX)
		// is refused outright when only stream pairs are allowed.
		a.label("socket")
		a.load(offsetArg0)
		if spec.socketFamily {
			a.jumpIf(unix.BPF_JEQ, unix.AF_UNIX, "", errnoLabel(unix.ENONET))
		}
		if spec.unixStreamOnly {
			a.jumpIf(unix.BPF_JEQ, unix.AF_UNIX, errnoLabel(unix.EACCES), "")
		}
		a.ret(unix.SECCOMP_RET_ALLOW)

		a.label("socketpair")
		a.load(offsetArg0)
		if spec.socketFamily {
			a.jumpIf(unix.BPF_JEQ, unix.AF_UNIX, "", errnoLabel(unix.ENONET))
		}
		if spec.unixStreamOnly {
			a.jumpIf(unix.BPF_JEQ, unix.AF_UNIX, "", "allow-pair")
			// The type's low bits are the socket type; the rest are
			// SOCK_CLOEXEC and SOCK_NONBLOCK.
			a.load(offsetArg1)
			a.and(0xf)
			a.jumpIf(unix.BPF_JEQ, unix.SOCK_STREAM, "", errnoLabel(unix.EACCES))
			a.label("allow-pair")
		}
		a.ret(unix.SECCOMP_RET_ALLOW)
	}
	if spec.cloneNeedsThread || spec.noMountNamespace {
		a.label("clone")
		a.load(offsetArg0)
		if spec.cloneNeedsThread {
			a.jumpIf(unix.BPF_JSET, unix.CLONE_THREAD, "", errnoLabel(unix.EPERM))
		}
		if spec.noMountNamespace {
			a.jumpIf(unix.BPF_JSET, unix.CLONE_NEWNS, errnoLabel(unix.EPERM), "")
		}
		a.ret(unix.SECCOMP_RET_ALLOW)
	}
	if spec.noMountNamespace {
		a.label("unshare")
		a.load(offsetArg0)
		a.jumpIf(unix.BPF_JSET, unix.CLONE_NEWNS|unshareEmptyMntns, errnoLabel(unix.EPERM), "")
		a.ret(unix.SECCOMP_RET_ALLOW)

		// setns with nstype 0 joins whatever namespace the fd is, a
		// mount namespace included.
		a.label("setns")
		a.load(offsetArg1)
		a.jumpIf(unix.BPF_JEQ, 0, errnoLabel(unix.EPERM), "")
		a.jumpIf(unix.BPF_JSET, unix.CLONE_NEWNS, errnoLabel(unix.EPERM), "")
		a.ret(unix.SECCOMP_RET_ALLOW)
	}

	for _, e := range spec.errnoValues() {
		a.label(errnoLabel(e))
		a.ret(unix.SECCOMP_RET_ERRNO | uint32(e))
	}
	a.label("kill")
	a.ret(unix.SECCOMP_RET_KILL_PROCESS)
	return a.link()
}

// errnoValues returns every errno the filter can return, in a fixed order.
func (f *filterSpec) errnoValues() []unix.Errno {
	var out []unix.Errno
	for _, r := range f.errnos {
		out = append(out, r.errno)
	}
	for _, r := range f.argRules {
		out = append(out, r.errno)
	}
	if f.socketFamily {
		out = append(out, unix.ENONET)
	}
	if f.unixStreamOnly {
		out = append(out, unix.EACCES)
	}
	if f.maxSyscall != 0 {
		out = append(out, unix.ENOSYS)
	}
	if f.cloneNeedsThread || f.noMountNamespace {
		out = append(out, unix.EPERM)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func errnoLabel(e unix.Errno) string { return fmt.Sprintf("errno-%d", int(e)) }

// assembler builds a classic BPF program with forward jumps to labels. An
// empty label means the next instruction.
type assembler struct {
	prog   []unix.SockFilter
	jumps  []pendingJump
	labels map[string]int
}

type pendingJump struct {
	at     int
	jt, jf string
}

func (a *assembler) load(offset uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offset})
}

func (a *assembler) and(k uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: k})
}

func (a *assembler) ret(k uint32) {
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k})
}

func (a *assembler) jumpIf(op uint16, k uint32, jt, jf string) {
	a.jumps = append(a.jumps, pendingJump{at: len(a.prog), jt: jt, jf: jf})
	a.prog = append(a.prog, unix.SockFilter{Code: unix.BPF_JMP | op | unix.BPF_K, K: k})
}

func (a *assembler) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.prog)
}

// link resolves the labels. Classic BPF jumps only forward, by at most 255
// instructions.
func (a *assembler) link() ([]unix.SockFilter, error) {
	offset := func(from int, label string) (uint8, error) {
		if label == "" {
			return 0, nil
		}
		to, ok := a.labels[label]
		if !ok {
			return 0, fmt.Errorf("link seccomp filter: undefined label %q", label)
		}
		d := to - from - 1
		if d < 0 || d > 255 {
			return 0, fmt.Errorf("link seccomp filter: jump from %d to %q (%d) out of range", from, label, to)
		}
		return uint8(d), nil
	}
	for _, j := range a.jumps {
		jt, err := offset(j.at, j.jt)
		if err != nil {
			return nil, err
		}
		jf, err := offset(j.at, j.jf)
		if err != nil {
			return nil, err
		}
		a.prog[j.at].Jt, a.prog[j.at].Jf = jt, jf
	}
	return a.prog, nil
}

package nullns

import "golang.org/x/sys/unix"

const (
	auditArch = unix.AUDIT_ARCH_X86_64
	// x32SyscallBit marks x32 system calls, which share the x86-64 audit
	// architecture but not its numbers.
	x32SyscallBit = 0x40000000
)

// forkSyscalls create processes without flags a filter could inspect.
var forkSyscalls = []uint32{unix.SYS_FORK, unix.SYS_VFORK}

// legacyPathMetadataSyscalls change a file's metadata by path through the
// old calls that arm64 never had.
var legacyPathMetadataSyscalls = []uint32{unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_LCHOWN,
	unix.SYS_UTIME, unix.SYS_UTIMES, unix.SYS_FUTIMESAT}

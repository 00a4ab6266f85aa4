package nullns

import "golang.org/x/sys/unix"

const (
	auditArch     = unix.AUDIT_ARCH_AARCH64
	x32SyscallBit = 0
)

// forkSyscalls is empty: arm64 has only clone and clone3.
var forkSyscalls []uint32

// legacyPathMetadataSyscalls is empty: arm64 has only the *at forms.
var legacyPathMetadataSyscalls []uint32

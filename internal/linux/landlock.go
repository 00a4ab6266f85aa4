package linux

import (
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LandlockRuleset is the handled part of struct landlock_ruleset_attr: the
// access rights a ruleset denies unless a rule allows them, and the scopes
// it restricts.
type LandlockRuleset struct {
	HandledAccessFS  uint64
	HandledAccessNet uint64
	Scoped           uint64
}

// landlockPathBeneathAttr mirrors the packed struct landlock_path_beneath_attr
// (a u64 and an s32). The Go struct has 4 bytes of tail padding, and the
// kernel copies only the first 12 bytes, which line up on every
// little- and big-endian 64-bit ABI because the u64 comes first.
type landlockPathBeneathAttr struct {
	allowedAccess uint64
	parentFD      int32
}

// LandlockABI returns the Landlock ABI version of the running kernel, using
// landlock_create_ruleset with LANDLOCK_CREATE_RULESET_VERSION. The error
// wraps ENOSYS when the kernel lacks Landlock and EOPNOTSUPP when Landlock
// is built in but disabled at boot.
func LandlockABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0,
		unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, os.NewSyscallError("landlock_create_ruleset", errno)
	}
	return int(v), nil
}

// LandlockCreateRuleset creates a ruleset. The attribute size passed to the
// kernel is the smallest one that holds the non-zero fields, so a ruleset
// without scopes also works on kernels before ABI 6, which know only the
// first two fields.
func LandlockCreateRuleset(attr LandlockRuleset) (*os.File, error) {
	size := unsafe.Offsetof(attr.Scoped)
	if attr.Scoped != 0 {
		size = unsafe.Sizeof(attr)
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET,
		uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return nil, os.NewSyscallError("landlock_create_ruleset", errno)
	}
	return os.NewFile(fd, "landlock-ruleset"), nil
}

// LandlockAddPathBeneath allows the access rights allowed on the file or
// directory hierarchy that parentFD refers to. parentFD may be an O_PATH
// descriptor. The error wraps EINVAL when allowed contains directory rights
// and parentFD is not a directory.
func LandlockAddPathBeneath(ruleset *os.File, parentFD int, allowed uint64) error {
	attr := landlockPathBeneathAttr{allowedAccess: allowed, parentFD: int32(parentFD)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, ruleset.Fd(),
		unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	runtime.KeepAlive(ruleset)
	if errno != 0 {
		return &os.PathError{Op: "landlock_add_rule", Path: "fd " + strconv.Itoa(parentFD), Err: errno}
	}
	return nil
}

// LandlockRestrictSelf enforces ruleset on the calling thread only (no
// TSYNC flag), and on the threads and processes it creates afterwards. The
// thread needs no_new_privs or CAP_SYS_ADMIN; otherwise the error wraps
// EPERM.
func LandlockRestrictSelf(ruleset *os.File) error {
	_, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, ruleset.Fd(), 0, 0)
	runtime.KeepAlive(ruleset)
	if errno != 0 {
		return os.NewSyscallError("landlock_restrict_self", errno)
	}
	return nil
}

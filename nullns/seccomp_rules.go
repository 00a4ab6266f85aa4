package nullns

import (
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/specext"
)

// addSettingRules adds the seccomp part of the emulation of s to f. The
// errnos are the ones the null-namespace kernel branch returns.
func addSettingRules(f *filterSpec, s specext.Setting, abi int) {
	switch s {
	case specext.Network:
		f.socketFamily = true
	case specext.IPC:
		f.deny(unix.ENOSYS,
			unix.SYS_MSGGET, unix.SYS_MSGSND, unix.SYS_MSGRCV, unix.SYS_MSGCTL,
			unix.SYS_SEMGET, unix.SYS_SEMOP, unix.SYS_SEMTIMEDOP, unix.SYS_SEMCTL,
			unix.SYS_SHMGET, unix.SYS_SHMAT, unix.SYS_SHMDT, unix.SYS_SHMCTL,
			unix.SYS_MQ_OPEN, unix.SYS_MQ_UNLINK, unix.SYS_MQ_TIMEDSEND,
			unix.SYS_MQ_TIMEDRECEIVE, unix.SYS_MQ_NOTIFY, unix.SYS_MQ_GETSETATTR)
	case specext.UTS:
		f.deny(unix.ENOENT, unix.SYS_UNAME, unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME)
	case specext.PID:
		f.cloneNeedsThread = true
		f.deny(unix.EPERM, forkSyscalls...)
		// clone3 passes its flags in memory, which a filter cannot read.
		// ENOSYS makes libc fall back to clone, whose flags it can.
		f.deny(unix.ENOSYS, unix.SYS_CLONE3)
		addProcessLookupRules(f)
	case specext.Mount, specext.Root:
		f.noMountNamespace = true
		f.deny(unix.EPERM,
			unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
			unix.SYS_OPEN_TREE, unix.SYS_OPEN_TREE_ATTR, unix.SYS_MOVE_MOUNT,
			unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK,
			unix.SYS_MOUNT_SETATTR)
		f.deny(unix.ENOSYS, unix.SYS_CLONE3)
		addPathMetadataRules(f, abi)
	case specext.Cwd:
		addPathMetadataRules(f, abi)
	case specext.User:
		f.deny(unix.EPERM,
			unix.SYS_SETUID, unix.SYS_SETGID, unix.SYS_SETREUID, unix.SYS_SETREGID,
			unix.SYS_SETRESUID, unix.SYS_SETRESGID, unix.SYS_SETFSUID, unix.SYS_SETFSGID,
			unix.SYS_SETGROUPS)
	}
}

// addProcessLookupRules keeps a process with a null PID namespace from
// finding or acting on any process but itself: Landlock's signal scope
// covers signals, this covers the calls that name another process by PID
// (0 means the caller) or look one up.
func addProcessLookupRules(f *filterSpec) {
	self := func(arg int) argCheck { return argCheck{arg: arg} }
	for _, nr := range []uint32{
		unix.SYS_PRLIMIT64, unix.SYS_GETPGID, unix.SYS_GETSID, unix.SYS_SETPGID,
		unix.SYS_SCHED_SETAFFINITY, unix.SYS_SCHED_GETAFFINITY,
		unix.SYS_SCHED_SETPARAM, unix.SYS_SCHED_GETPARAM,
		unix.SYS_SCHED_SETSCHEDULER, unix.SYS_SCHED_GETSCHEDULER,
		unix.SYS_SCHED_SETATTR, unix.SYS_SCHED_GETATTR, unix.SYS_SCHED_RR_GET_INTERVAL,
		unix.SYS_GET_ROBUST_LIST, unix.SYS_MIGRATE_PAGES, unix.SYS_MOVE_PAGES,
	} {
		f.denyUnless(unix.EPERM, nr, self(0))
	}
	// PRIO_PROCESS (0) of the caller (0) only: PRIO_PGRP and PRIO_USER
	// reach other processes.
	f.denyUnless(unix.EPERM, unix.SYS_SETPRIORITY, self(0), self(1))
	f.denyUnless(unix.EPERM, unix.SYS_GETPRIORITY, self(0), self(1))
	// IOPRIO_WHO_PROCESS (1) of the caller only.
	f.denyUnless(unix.EPERM, unix.SYS_IOPRIO_SET, argCheck{arg: 0, value: 1}, self(1))
	f.denyUnless(unix.EPERM, unix.SYS_IOPRIO_GET, argCheck{arg: 0, value: 1}, self(1))
	f.deny(unix.EPERM, unix.SYS_PIDFD_OPEN, unix.SYS_KCMP, unix.SYS_PTRACE,
		unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV, unix.SYS_PROCESS_MADVISE)
}

// landlockResolveUnixABI is the first Landlock ABI that controls which
// named unix sockets a process may connect or send to.
const landlockResolveUnixABI = 9

// addPathMetadataRules covers what Landlock does not when the root or cwd
// is null: changes of owner, mode, times and extended attributes by path,
// which ".." from a granted directory could aim at host files, and, before
// Landlock can confine it, reaching named unix sockets by path. The fd
// forms (fchmod, fchown, futimens, fsetxattr) stay, for the granted files
// themselves; so do unix stream socket pairs and the socket grants.
func addPathMetadataRules(f *filterSpec, abi int) {
	f.deny(unix.EPERM, legacyPathMetadataSyscalls...)
	f.deny(unix.EPERM,
		unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_FCHOWNAT,
		unix.SYS_SETXATTR, unix.SYS_LSETXATTR, unix.SYS_REMOVEXATTR, unix.SYS_LREMOVEXATTR,
		unix.SYS_SETXATTRAT, unix.SYS_REMOVEXATTRAT, unix.SYS_FILE_SETATTR,
		unix.SYS_NAME_TO_HANDLE_AT)
	// utimensat with a NULL path is futimens.
	f.denyUnless(unix.EPERM, unix.SYS_UTIMENSAT, argCheck{arg: 1, wide: true})
	if abi < landlockResolveUnixABI {
		f.unixStreamOnly = true
		// A destination address on sendto reaches a named socket.
		f.denyUnless(unix.EACCES, unix.SYS_SENDTO, argCheck{arg: 4, wide: true})
	}
}

// maxKnownSyscall is the highest system call number these rules were
// written against: rseq_slice_yield, the last one golang.org/x/sys
// v0.50.0 defines. New system calls get the same number on amd64 and
// arm64.
const maxKnownSyscall = 471

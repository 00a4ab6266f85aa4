package nullns

import (
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/specext"
)

// addSettingRules adds the seccomp part of the emulation of s to f. The
// errnos are the ones the null-namespace kernel branch returns.
func addSettingRules(f *filterSpec, s specext.Setting) {
	switch s {
	case specext.Network:
		f.socketFamily = true
		// io_uring can open sockets (IORING_OP_SOCKET) without entering
		// socket(2). EPERM is what kernel.io_uring_disabled=2 returns, so
		// programs already treat it as "no io_uring here" and fall back.
		f.deny(unix.EPERM, unix.SYS_IO_URING_SETUP)
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
	case specext.Mount, specext.Root:
		f.noMountNamespace = true
		f.deny(unix.EPERM,
			unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
			unix.SYS_OPEN_TREE, unix.SYS_OPEN_TREE_ATTR, unix.SYS_MOVE_MOUNT,
			unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK,
			unix.SYS_MOUNT_SETATTR)
		f.deny(unix.ENOSYS, unix.SYS_CLONE3)
	case specext.User:
		f.deny(unix.EPERM,
			unix.SYS_SETUID, unix.SYS_SETGID, unix.SYS_SETREUID, unix.SYS_SETREGID,
			unix.SYS_SETRESUID, unix.SYS_SETRESGID, unix.SYS_SETFSUID, unix.SYS_SETFSGID,
			unix.SYS_SETGROUPS)
	}
}

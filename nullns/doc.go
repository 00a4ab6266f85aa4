// Package nullns enforces nullrun's null settings inside the container
// init. Probe finds the kernel features. Plan picks, per setting, a native
// feature, an emulation with the same guarantee or (in permissive mode) a
// fresh namespace. A Backend (Native, Emulated, Planned) applies the plan
// on the init's locked thread right before execveat.
//
// The package returns errors and never logs. An *UnsupportedError names the
// setting, the kernel feature it needs and the first kernel that has it.
//
// # What each null setting does
//
// "Native" is the errno with the kernel feature, "emulated" the errno on
// stock kernels such as Linux 6.18, where Emulated installs a seccomp
// filter and a Landlock ruleset on the calling thread after no_new_privs,
// and the runtime does the chroot, user namespace and cgroup steps.
//
//	setting  call                                           native        emulated  known difference when emulated
//	-------  ---------------------------------------------  ------------  --------  ------------------------------------------
//	root     open("/..."), absolute symlinks, interpreter   EOPNOTSUPP    ENOENT,   root is an empty read-only directory,
//	                                                                      EACCES    which Landlock denies
//	root     openat(granted dir, "..")                      succeeds*     EACCES    *failfs stops nothing at `..`; Landlock closes it in both
//	root     chroot, pivot_root, mount API                  EPERM         EPERM     seccomp, plus no capabilities
//	cwd      openat(AT_FDCWD, ...), relative paths          EOPNOTSUPP    EACCES    cwd is the empty directory; Landlock denies it
//	mount    mount, umount2, pivot_root, chroot, open_tree,
//	         open_tree_attr, move_mount, fsopen, fsconfig,
//	         fsmount, fspick, mount_setattr                 EPERM         EPERM     the host mount namespace still exists
//	mount    unshare or clone with CLONE_NEWNS or
//	         UNSHARE_EMPTY_MNTNS; setns with nstype 0 or
//	         CLONE_NEWNS                                    EPERM         EPERM
//	mount    clone3                                         succeeds      ENOSYS    libc falls back to clone
//	network  socket, socketpair (family other than AF_UNIX) ENONET        ENONET
//	network  io_uring_setup                                 succeeds      EPERM     as with kernel.io_uring_disabled=2
//	network  connect to an abstract unix socket             -             EPERM     Landlock scope (ABI 6); named sockets and
//	                                                                                granted socket fds keep working
//	network  TCP bind and connect                           -             EACCES    Landlock ABI 4, behind the socket filter
//	ipc      msgget, msgsnd, msgrcv, msgctl, semget, semop,
//	         semtimedop, semctl, shmget, shmat, shmdt,
//	         shmctl, mq_open, mq_unlink, mq_timedsend,
//	         mq_timedreceive, mq_notify, mq_getsetattr      ENOSYS        ENOSYS
//	uts      uname, sethostname, setdomainname              ENOENT        ENOENT    breaks programs that need uname
//	user     setuid, setgid, setreuid, setregid, setresuid,
//	         setresgid, setfsuid, setfsgid, setgroups       EPERM         EPERM     an unmapped user namespace; DAC still
//	                                                                                uses the unprivileged kuid
//	pid      fork, vfork, clone without CLONE_THREAD        EPERM         EPERM     threads still start; getpid works
//	pid      clone3                                         succeeds      ENOSYS    libc falls back to clone
//	pid      kill and other signals to outside processes    -             EPERM     Landlock signal scope (ABI 6)
//	cgroup   reading the cgroup hierarchy                   -             -         leaf cgroup and a cgroup namespace;
//	                                                                                no cgroupfs is mounted
//	time     clock_gettime                                  -             -         no emulation: the vDSO reads the clock
//	                                                                                without a system call, so strict and
//	                                                                                native reject it and permissive gives a
//	                                                                                fresh time namespace
//
// A "-" in the native column marks a call whose errno no native feature
// defines yet. NOTE: the native errnos of network, ipc, uts and pid are
// those the draft branch documents; no test here runs them.
//
// A call on another architecture's numbers (x32, i386) kills the process,
// because the filter lists native numbers only. The native column for
// network, ipc, uts, pid and time is the draft null-namespace kernel
// branch, which has no call to enter a null namespace; nullrun uses it only
// when the runtime already runs in one. Native root and cwd are failfs
// (Linux 7.3) and native mount an empty mount namespace (Linux 7.1).
//
// Where emulated root, cwd or mount is in force, every file system access
// needs a Landlock rule: a read-only directory grant allows reading,
// listing and executing beneath it (and, from ABI 9, connecting to unix
// sockets there), a writable one every right of the ABI, a file grant
// reading and executing (and writing and truncating if writable), and the
// program fd reading and executing. Capabilities are dropped for root,
// cwd, mount, user and pid.
package nullns

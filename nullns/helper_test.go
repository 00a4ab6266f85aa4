package nullns

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/specext"
)

// Environment of a helper scenario.
const (
	helperDirEnv = "NULLNS_TEST_DIR" // the tree that setupTree made
	helperExecOK = "exec-ok"         // the scenario a restricted helper execs into
	// helperNoApplyEnv makes the helper skip Apply, to show that the
	// checks fail on an unrestricted thread.
	helperNoApplyEnv = "NULLNS_TEST_NO_APPLY"
)

// runHelper runs a scenario in the re-executed test binary: it locks the
// main goroutine's thread, applies the settings the scenario names, checks
// what fails and what still works, and returns the exit code.
func runHelper(scenario string) int {
	runtime.LockOSThread()
	c := &checker{}
	switch scenario {
	case helperExecOK:
		fmt.Println("exec ok")
		return 0
	case "pid-after-exec":
		checkPIDAfterExec(c)
		return c.exitCode()
	}

	settings := map[specext.Setting]bool{}
	for _, s := range strings.Split(scenario, ",") {
		settings[specext.Setting(s)] = true
	}
	tree := openTree(c, os.Getenv(helperDirEnv))
	if tree == nil {
		return c.exitCode()
	}
	abstract := listenAbstract(c)
	if err := isolateHelper(); err != nil {
		c.errorf("isolate the helper: %v", err)
		return c.exitCode()
	}

	req := Request{Settings: settings, Grants: tree.grants, ProgramFD: tree.program, ABI: Probe().LandlockABI}
	if os.Getenv(helperNoApplyEnv) == "" {
		if err := (Emulated{}).Apply(req); err != nil {
			c.errorf("apply %s: got %v, want success", scenario, err)
			return c.exitCode()
		}
	}

	fsNull := settings[specext.Root] || settings[specext.Cwd] || settings[specext.Mount]
	if settings[specext.Network] {
		checkNetwork(c, abstract, fsNull)
	}
	if settings[specext.IPC] {
		checkIPC(c)
	}
	if settings[specext.UTS] {
		checkUTS(c)
	}
	if settings[specext.User] {
		checkUser(c)
	}
	if settings[specext.Mount] || settings[specext.Root] {
		checkMount(c)
	}
	if settings[specext.Root] || settings[specext.Cwd] || settings[specext.Mount] {
		checkFiles(c, tree)
	}
	if needsNoCapabilities(settings) {
		checkNoCapabilities(c)
	}
	if settings[specext.PID] {
		checkPID(c)
		// Exec into a helper that checks that threads still start, from
		// a thread that carries the filter.
		execHelper(c, tree.program, "pid-after-exec")
		return c.exitCode()
	}
	execHelper(c, tree.program, helperExecOK)
	return c.exitCode()
}

// isolateHelper moves the helper's thread into private mount, UTS and IPC
// namespaces, so a call that the filter wrongly lets through changes
// nothing outside the helper.
func isolateHelper() error {
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC); err != nil {
		return err
	}
	return unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
}

func sys(trap uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := unix.RawSyscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

func ptr(s string) uintptr {
	p, err := unix.BytePtrFromString(s)
	if err != nil {
		panic(err)
	}
	return uintptr(unsafe.Pointer(p))
}

func closeIfFD(fd uintptr, err error) error {
	if err == nil {
		unix.Close(int(fd))
	}
	return err
}

func sysFD(trap uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	fd, _, e := unix.RawSyscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	unix.Close(int(fd))
	return nil
}

// With fsNull, unix sockets other than stream pairs are refused as well
// (checkFiles checks that).
func checkNetwork(c *checker, abstract string, fsNull bool) {
	for _, family := range []int{unix.AF_INET, unix.AF_INET6, unix.AF_NETLINK, unix.AF_PACKET} {
		err := sysFD(unix.SYS_SOCKET, uintptr(family), unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		c.errno(fmt.Sprintf("socket(family %d)", family), err, unix.ENONET)
	}
	c.errno("socketpair(AF_INET)", sys(unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM, 0,
		uintptr(unsafe.Pointer(&[2]int32{}))), unix.ENONET)
	if !fsNull {
		c.errno("socket(AF_UNIX)", sysFD(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0), nil)
	}

	var pair [2]int32
	err := sys(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0,
		uintptr(unsafe.Pointer(&pair)))
	c.errno("socketpair(AF_UNIX)", err, nil)
	if err == nil {
		unix.Close(int(pair[0]))
		unix.Close(int(pair[1]))
	}

	var params [120]byte // struct io_uring_params
	c.errno("io_uring_setup", sysFD(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params))), unix.EPERM)

	if fsNull {
		return
	}
	// An abstract socket made before Apply lies outside the Landlock
	// domain, so the abstract unix socket scope denies connecting to it.
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		c.errorf("socket(AF_UNIX) for the abstract connect: got %v, want success", err)
		return
	}
	defer unix.Close(fd)
	err = unix.Connect(fd, &unix.SockaddrUnix{Name: abstract})
	c.errno("connect(abstract socket outside the sandbox)", errnoOf(err), unix.EPERM)
}

func errnoOf(err error) error {
	if e, ok := err.(unix.Errno); ok {
		return e
	}
	return err
}

// listenAbstract listens on an abstract unix socket and returns its name.
func listenAbstract(c *checker) string {
	name := fmt.Sprintf("@nullns-test-%d", os.Getpid())
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: name})
	}
	if err == nil {
		err = unix.Listen(fd, 1)
	}
	if err != nil {
		c.errorf("listen on %s: %v", name, err)
	}
	return name
}

func checkIPC(c *checker) {
	c.errno("msgget", sysFD(unix.SYS_MSGGET, 0, unix.IPC_CREAT|0o600), unix.ENOSYS)
	c.errno("semget", sys(unix.SYS_SEMGET, 0, 1, unix.IPC_CREAT|0o600), unix.ENOSYS)
	c.errno("shmget", sys(unix.SYS_SHMGET, 0, 4096, unix.IPC_CREAT|0o600), unix.ENOSYS)
	c.errno("shmat", sys(unix.SYS_SHMAT, 0, 0, 0), unix.ENOSYS)
	c.errno("msgctl", sys(unix.SYS_MSGCTL, 0, unix.IPC_STAT, 0), unix.ENOSYS)
	c.errno("mq_open", sysFD(unix.SYS_MQ_OPEN, ptr("nullns-test"), unix.O_RDONLY|unix.O_CREAT, 0o600, 0), unix.ENOSYS)
	c.errno("mq_unlink", sys(unix.SYS_MQ_UNLINK, ptr("nullns-test")), unix.ENOSYS)
}

func checkUTS(c *checker) {
	var u unix.Utsname
	c.errno("uname", sys(unix.SYS_UNAME, uintptr(unsafe.Pointer(&u))), unix.ENOENT)
	c.errno("sethostname", sys(unix.SYS_SETHOSTNAME, ptr("x"), 1), unix.ENOENT)
	c.errno("setdomainname", sys(unix.SYS_SETDOMAINNAME, ptr("x"), 1), unix.ENOENT)
}

func checkUser(c *checker) {
	c.errno("setuid", sys(unix.SYS_SETUID, 0), unix.EPERM)
	c.errno("setgid", sys(unix.SYS_SETGID, 0), unix.EPERM)
	c.errno("setresuid", sys(unix.SYS_SETRESUID, 1, 1, 1), unix.EPERM)
	c.errno("setgroups", sys(unix.SYS_SETGROUPS, 0, 0), unix.EPERM)
	c.errno("setfsuid", sys(unix.SYS_SETFSUID, 0), unix.EPERM)
}

func checkMount(c *checker) {
	atFDCWD := unix.AT_FDCWD
	c.errno("mount", sys(unix.SYS_MOUNT, ptr("none"), ptr("/tmp"), ptr("tmpfs"), 0, 0), unix.EPERM)
	c.errno("umount2", sys(unix.SYS_UMOUNT2, ptr("/tmp"), 0), unix.EPERM)
	c.errno("chroot", sys(unix.SYS_CHROOT, ptr("/")), unix.EPERM)
	c.errno("pivot_root", sys(unix.SYS_PIVOT_ROOT, ptr("/"), ptr("/")), unix.EPERM)
	c.errno("fsopen", sysFD(unix.SYS_FSOPEN, ptr("tmpfs"), 0), unix.EPERM)
	c.errno("open_tree", sysFD(unix.SYS_OPEN_TREE, uintptr(atFDCWD), ptr("/"), 0), unix.EPERM)
	c.errno("unshare(CLONE_NEWNS)", sys(unix.SYS_UNSHARE, unix.CLONE_NEWNS), unix.EPERM)
	c.errno("unshare(UNSHARE_EMPTY_MNTNS)", sys(unix.SYS_UNSHARE, unshareEmptyMntns), unix.EPERM)
	c.errno("setns(fd, 0)", sys(unix.SYS_SETNS, 0, 0), unix.EPERM)
	c.errno("setns(fd, CLONE_NEWNS)", sys(unix.SYS_SETNS, 0, unix.CLONE_NEWNS), unix.EPERM)
	c.errno("clone3", sys(unix.SYS_CLONE3, 0, 0), unix.ENOSYS)
	// unshare without CLONE_NEWNS passes the filter and reaches the
	// kernel; CLONE_FS needs no privilege.
	c.errno("unshare(CLONE_FS)", sys(unix.SYS_UNSHARE, unix.CLONE_FS), nil)
}

func checkNoCapabilities(c *checker) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		c.errorf("capget: got %v, want success", err)
		return
	}
	if data != [2]unix.CapUserData{} {
		c.errorf("capabilities after Apply: got %+v, want all empty", data)
	}
	v, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, unix.CAP_SYS_ADMIN, 0, 0, 0)
	if err != nil || v != 0 {
		c.errorf("CAP_SYS_ADMIN in the bounding set: got %d (%v), want 0", v, err)
	}
	v, err = unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	if err != nil || v != 1 {
		c.errorf("no_new_privs: got %d (%v), want 1", v, err)
	}
}

func checkPID(c *checker) {
	// Should the filter let a fork through, the copy exits at once.
	forked := func(call string, trap uintptr, args ...uintptr) {
		var a [6]uintptr
		copy(a[:], args)
		pid, _, e := unix.RawSyscall6(trap, a[0], a[1], a[2], a[3], a[4], a[5])
		if e == 0 && pid == 0 {
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
		if e == 0 {
			var ws unix.WaitStatus
			unix.Wait4(int(pid), &ws, 0, nil)
			c.errorf("%s: got pid %d, want EPERM", call, pid)
			return
		}
		c.errno(call, e, unix.EPERM)
	}
	forked("clone(SIGCHLD)", unix.SYS_CLONE, uintptr(unix.SIGCHLD))
	forkRaw(forked)
	c.errno("clone3", sys(unix.SYS_CLONE3, 0, 0), unix.ENOSYS)
	c.errno("kill(parent, 0)", sys(unix.SYS_KILL, uintptr(os.Getppid()), 0), unix.EPERM)
	c.errno("kill(self, 0)", sys(unix.SYS_KILL, uintptr(os.Getpid()), 0), nil)
	ppid := uintptr(os.Getppid())
	var rl unix.Rlimit
	c.errno("prlimit(parent)", sys(unix.SYS_PRLIMIT64, ppid, unix.RLIMIT_NOFILE, 0,
		uintptr(unsafe.Pointer(&rl))), unix.EPERM)
	c.errno("prlimit(self)", sys(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0,
		uintptr(unsafe.Pointer(&rl))), nil)
	c.errno("pidfd_open(parent)", sysFD(unix.SYS_PIDFD_OPEN, ppid, 0), unix.EPERM)
	c.errno("getpgid(parent)", sys(unix.SYS_GETPGID, ppid), unix.EPERM)
	c.errno("getpgid(0)", sys(unix.SYS_GETPGID, 0), nil)
	c.errno("setpriority(PRIO_USER)", sys(unix.SYS_SETPRIORITY, unix.PRIO_USER, 0, 0), unix.EPERM)
	var set unix.CPUSet
	c.errno("sched_getaffinity(parent)", sys(unix.SYS_SCHED_GETAFFINITY, ppid,
		unsafe.Sizeof(set), uintptr(unsafe.Pointer(&set))), unix.EPERM)
}

// checkPIDAfterExec runs in a program that the null-pid helper executed:
// every thread of it descends from the filtered one.
func checkPIDAfterExec(c *checker) {
	const threads = 8
	done := make(chan error, threads)
	for range threads {
		go func() {
			// A goroutine that stays locked makes the runtime start
			// another thread for the others.
			runtime.LockOSThread()
			var ts unix.Timespec
			done <- unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		}()
	}
	for range threads {
		if err := <-done; err != nil {
			c.errorf("thread: got %v, want success", err)
		}
	}
	// Standard streams from this process, because /dev/null is not
	// granted.
	cmd := exec.Command("/proc/self/exe")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	err := cmd.Start()
	if err == nil || !strings.Contains(err.Error(), unix.EPERM.Error()) {
		c.errorf("start a process: got %v, want an error wrapping EPERM", err)
	}
	if len(c.failures) == 0 {
		fmt.Println("exec ok")
	}
}

// tree is what a helper opened from the directory that setupTree made.
type tree struct {
	program  int
	readDir  int // granted read-only: holds "inside"
	writeDir int // granted read-write
	file     int // a granted read-only file
	base     string
	grants   []Grant
}

func openTree(c *checker, base string) *tree {
	open := func(name string, flags int) int {
		fd, err := unix.Open(filepath.Join(base, name), flags|unix.O_CLOEXEC, 0)
		if err != nil {
			c.errorf("open %s: %v", name, err)
		}
		return fd
	}
	t := &tree{base: base}
	t.program = open("program", unix.O_PATH)
	t.readDir = open("ro", unix.O_RDONLY|unix.O_DIRECTORY)
	t.writeDir = open("rw", unix.O_PATH|unix.O_DIRECTORY)
	t.file = open("file", unix.O_RDONLY)
	if len(c.failures) > 0 {
		return nil
	}
	t.grants = []Grant{{FD: t.readDir, Dir: true}, {FD: t.writeDir, Dir: true, Writable: true}, {FD: t.file}}
	return t
}

// setupTree makes base/{ro/inside, rw/, file, secret} and links the test
// binary as base/program.
func setupTree(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	for _, d := range []string{"ro", "rw"} {
		if err := os.Mkdir(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"ro/inside", "file", "secret"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "program"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	return base
}

func checkFiles(c *checker, t *tree) {
	openat := func(dir int, name string, flags int) error {
		fd, err := unix.Openat(dir, name, flags|unix.O_CLOEXEC, 0o644)
		return closeIfFD(uintptr(fd), errnoOf(err))
	}
	c.errno("openat(ro, inside)", openat(t.readDir, "inside", unix.O_RDONLY), nil)
	c.errno("openat(ro, .)", openat(t.readDir, ".", unix.O_RDONLY|unix.O_DIRECTORY), nil)
	c.errno("openat(ro, ../secret)", openat(t.readDir, "../secret", unix.O_RDONLY), unix.EACCES)
	c.errno("openat(ro, ..)", openat(t.readDir, "..", unix.O_RDONLY|unix.O_DIRECTORY), unix.EACCES)
	c.errno("openat(ro, ../../..)", openat(t.readDir, "../../..", unix.O_RDONLY|unix.O_DIRECTORY), unix.EACCES)
	c.errno("openat(ro, new, O_CREAT)", openat(t.readDir, "new", unix.O_WRONLY|unix.O_CREAT), unix.EACCES)
	c.errno("openat(ro, inside, O_WRONLY)", openat(t.readDir, "inside", unix.O_WRONLY), unix.EACCES)
	c.errno("openat(rw, new, O_CREAT)", openat(t.writeDir, "new", unix.O_WRONLY|unix.O_CREAT), nil)
	c.errno("mkdirat(rw, sub)", errnoOf(unix.Mkdirat(t.writeDir, "sub", 0o755)), nil)
	c.errno("openat(rw, ../secret)", openat(t.writeDir, "../secret", unix.O_RDONLY), unix.EACCES)
	c.errno("open(secret) outside the grants", openat(unix.AT_FDCWD, filepath.Join(t.base, "secret"), unix.O_RDONLY), unix.EACCES)
	c.errno("open(/etc/passwd)", openat(unix.AT_FDCWD, "/etc/passwd", unix.O_RDONLY), unix.EACCES)
	c.errno("open(.) from the working directory", openat(unix.AT_FDCWD, ".", unix.O_RDONLY|unix.O_DIRECTORY), unix.EACCES)

	// What Landlock does not cover, the filter does.
	c.errno("fchmodat(ro, inside)", errnoOf(unix.Fchmodat(t.readDir, "inside", 0o777, 0)), unix.EPERM)
	c.errno("fchownat(ro, ../secret)", errnoOf(unix.Fchownat(t.readDir, "../secret", 0, 0, 0)), unix.EPERM)
	c.errno("utimensat(ro, inside)", errnoOf(unix.UtimesNanoAt(t.readDir, "inside", nil, 0)), unix.EPERM)
	c.errno("lsetxattr(secret)", errnoOf(unix.Lsetxattr(filepath.Join(t.base, "secret"),
		"user.x", []byte("1"), 0)), unix.EPERM)
	name, value := ptr("user.x"), ptr("1")
	c.errno("setxattrat(ro, ../secret)", sys(unix.SYS_SETXATTRAT, uintptr(t.readDir), ptr("../secret"), 0,
		name, value, 1), unix.EPERM)
	var params [120]byte // struct io_uring_params
	c.errno("io_uring_setup", sysFD(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params))), unix.EPERM)
	c.errno("a system call newer than the rules", sys(maxKnownSyscall+20), unix.ENOSYS)
	c.errno("socket(AF_UNIX)", sysFD(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0), unix.EACCES)
	var pair [2]int32
	c.errno("socketpair(AF_UNIX, SOCK_DGRAM)", sys(unix.SYS_SOCKETPAIR, unix.AF_UNIX,
		unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0, uintptr(unsafe.Pointer(&pair))), unix.EACCES)
	err := sys(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0,
		uintptr(unsafe.Pointer(&pair)))
	c.errno("socketpair(AF_UNIX, SOCK_STREAM)", err, nil)
	if err == nil {
		addr := [16]byte{unix.AF_UNIX}
		c.errno("sendto(pair, an address)", sys(unix.SYS_SENDTO, uintptr(pair[0]), 0, 0, 0,
			uintptr(unsafe.Pointer(&addr)), uintptr(len(addr))), unix.EACCES)
		c.errno("sendto(pair)", sys(unix.SYS_SENDTO, uintptr(pair[0]), uintptr(unsafe.Pointer(&addr)), 1, 0, 0, 0), nil)
		unix.Close(int(pair[0]))
		unix.Close(int(pair[1]))
	}

	buf := make([]byte, 16)
	n, err := unix.Pread(t.file, buf, 0)
	c.errno("pread(granted file)", errnoOf(err), nil)
	if string(buf[:n]) != "file" {
		c.errorf("granted file content: got %q, want %q", buf[:n], "file")
	}
}

// execHelper execs the program fd with execveat(AT_EMPTY_PATH) into the
// helper scenario next; it returns only on failure.
func execHelper(c *checker, program int, next string) {
	argv, _ := syscall.SlicePtrFromStrings([]string{"program"})
	envv, _ := syscall.SlicePtrFromStrings([]string{helperEnv + "=" + next})
	if msg := c.exitCodeText(); msg != "" {
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
	_, _, e := unix.RawSyscall6(unix.SYS_EXECVEAT, uintptr(program), ptr(""),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])), unix.AT_EMPTY_PATH, 0)
	c.errorf("execveat(program fd): got %v, want success", e)
}

func (c *checker) exitCodeText() string { return strings.Join(c.failures, "\n") }

package nsenter

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nullrun/nullrun/internal/linux"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// childModeEnv makes the test binary run as the child: it reports its
// namespaces and IDs and exits instead of running tests.
const childModeEnv = "NSENTER_TEST_CHILD"

// Probes the child runs when these variables are set.
const (
	// markerEnv names a file whose existence the child reports.
	markerEnv = "NSENTER_TEST_MARKER"
	// openEnv lists paths, separated by ":", that the child opens for
	// reading. It reports the errno of each.
	openEnv = "NSENTER_TEST_OPEN"
	// setRootEnv makes the child try to switch to uid and gid 0.
	setRootEnv = "NSENTER_TEST_SET_ROOT"
)

// report is the child's view of itself after the constructor has run.
type report struct {
	NS        map[string]string `json:"ns"`
	UID       int               `json:"uid"`
	GID       int               `json:"gid"`
	PID       int               `json:"pid"`
	NSpid     []int             `json:"nspid"`
	Greeting  string            `json:"greeting"`
	EnvAfter  string            `json:"envAfter"`
	SockFlags int64             `json:"sockFlags"`
	TimeNS    string            `json:"timens"`
	Cgroup    string            `json:"cgroup"`
	UIDMap    string            `json:"uidMap"`
	GIDMap    string            `json:"gidMap"`
	// Marker is "found", or the error of the stat of markerEnv's file.
	Marker string `json:"marker"`
	// OpenErrno has the errno (0 on success) of opening each path in
	// openEnv.
	OpenErrno map[string]int `json:"openErrno"`
	// SetRootErr and SetRootErrno are the error, and its errno, of the
	// child's attempt to switch to uid and gid 0.
	SetRootErr   string `json:"setRootErr"`
	SetRootErrno int    `json:"setRootErrno"`
}

func TestMain(m *testing.M) {
	if os.Getenv(childModeEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "nsenter test child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if os.Geteuid() == 0 {
		// Forked grandchildren must be reparented to the test so it can
		// wait for them.
		if err := linux.SetChildSubreaper(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// runChild writes a report to stdout when it was started without the
// socket. With the socket it reads one line from the parent, sends the
// report back and waits for the parent to close its end.
func runChild() error {
	// Before anything else, so the parent's write between Start and
	// Resume is the only way the file can exist.
	marker := "not checked"
	if path := os.Getenv(markerEnv); path != "" {
		marker = "found"
		if _, err := os.Stat(path); err != nil {
			marker = err.Error()
		}
	}

	sock, ok := ChildSocket()
	r, err := collectReport()
	if err != nil {
		return err
	}
	r.Marker = marker
	runProbes(r)
	if !ok {
		return json.NewEncoder(os.Stdout).Encode(r)
	}

	r.EnvAfter = os.Getenv(EnvFD)
	if r.SockFlags, err = fdFlags(int(sock.Fd())); err != nil {
		return err
	}
	line, err := bufio.NewReader(sock).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	r.Greeting = strings.TrimSpace(line)
	if err := json.NewEncoder(sock).Encode(r); err != nil {
		return fmt.Errorf("send report: %w", err)
	}
	_, err = io.Copy(io.Discard, sock)
	return err
}

// runProbes tries what openEnv and setRootEnv ask for and records the
// results in r.
func runProbes(r *report) {
	if paths := os.Getenv(openEnv); paths != "" {
		r.OpenErrno = map[string]int{}
		for _, path := range strings.Split(paths, ":") {
			f, err := os.Open(path)
			if err == nil {
				f.Close()
			}
			r.OpenErrno[path] = errnoOf(err)
		}
	}
	if os.Getenv(setRootEnv) != "" {
		// The credentials of this thread only: the child exits soon
		// after, and a success shows up in the report's uid and gid.
		runtime.LockOSThread()
		err := linux.SetThreadCredentials(0, 0, nil)
		r.SetRootErrno = errnoOf(err)
		if err != nil {
			r.SetRootErr = err.Error()
		}
		r.UID, r.GID = os.Getuid(), os.Getgid()
	}
}

// errnoOf returns the errno err wraps, 0 for nil and -1 for an error
// without one.
func errnoOf(err error) int {
	if err == nil {
		return 0
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return int(errno)
	}
	return -1
}

func collectReport() (*report, error) {
	r := &report{NS: namespaces("self"), UID: os.Getuid(), GID: os.Getgid(), PID: os.Getpid()}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(f)
				if err != nil {
					return nil, fmt.Errorf("parse NSpid %q: %w", rest, err)
				}
				r.NSpid = append(r.NSpid, n)
			}
		}
	}
	if b, err := os.ReadFile("/proc/self/timens_offsets"); err == nil {
		r.TimeNS = string(b)
	}
	files := map[string]*string{"cgroup": &r.Cgroup, "uid_map": &r.UIDMap, "gid_map": &r.GIDMap}
	for name, field := range files {
		b, err := os.ReadFile("/proc/self/" + name)
		if err != nil {
			return nil, err
		}
		*field = string(b)
	}
	return r, nil
}

// namespaces returns the /proc/PID/ns links of pid ("self" for this
// process), by name. It reads known names rather than the directory,
// because a non-dumpable process whose uid is not host root may not list
// its own /proc/self/ns.
func namespaces(pid string) map[string]string {
	links := map[string]string{}
	for _, name := range []string{"user", "mnt", "net", "ipc", "uts", "pid", "pid_for_children", "cgroup", "time"} {
		if target, err := os.Readlink("/proc/" + pid + "/ns/" + name); err == nil {
			links[name] = target
		}
	}
	return links
}

// fdFlags returns the flags field of /proc/self/fdinfo/fd.
func fdFlags(fd int) (int64, error) {
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(info)) {
		if rest, ok := strings.CutPrefix(line, "flags:"); ok {
			return strconv.ParseInt(strings.TrimSpace(rest), 8, 64)
		}
	}
	return 0, fmt.Errorf("no flags in fdinfo of fd %d", fd)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: joins and creates namespaces")
	}
}

func childCommand() *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childModeEnv+"=1")
	cmd.Stderr = os.Stderr
	return cmd
}

// child is a started test child.
type child struct {
	cmd  *exec.Cmd
	pid  int
	sock *os.File
}

func startChild(t *testing.T, req Request) (*child, error) {
	t.Helper()
	return startCommand(t, childCommand(), req)
}

// startCommand starts cmd, a childCommand with added settings.
func startCommand(t *testing.T, cmd *exec.Cmd, req Request) (*child, error) {
	t.Helper()
	pid, sock, err := Start(cmd, req)
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, pid: pid, sock: sock}
	t.Cleanup(func() { c.stop(t) })
	return c, nil
}

// exchange greets the child over the socket and returns its report.
func (c *child) exchange(t *testing.T) *report {
	t.Helper()
	if _, err := io.WriteString(c.sock, "hello\n"); err != nil {
		t.Fatalf("send greeting: %v", err)
	}
	var r report
	if err := json.NewDecoder(c.sock).Decode(&r); err != nil {
		t.Fatalf("read report: %v", err)
	}
	if r.Greeting != "hello" {
		t.Errorf("greeting read by the child: got %q, want %q", r.Greeting, "hello")
	}
	return &r
}

// stop closes the socket, which ends the child, and checks its exit.
func (c *child) stop(t *testing.T) {
	t.Helper()
	if c.sock == nil {
		return
	}
	if state := c.wait(t); !state.Success() {
		t.Errorf("child %d: got %s, want exit status 0", c.pid, state)
	}
}

// wait closes the socket and reaps the process that runs Go main.
func (c *child) wait(t *testing.T) *os.ProcessState {
	t.Helper()
	c.sock.Close()
	c.sock = nil
	if c.pid == c.cmd.Process.Pid {
		_ = c.cmd.Wait()
		return c.cmd.ProcessState
	}
	p, err := os.FindProcess(c.pid)
	if err != nil {
		t.Fatalf("find grandchild %d: %v", c.pid, err)
	}
	state, err := p.Wait()
	if err != nil {
		t.Fatalf("wait for grandchild %d: %v", c.pid, err)
	}
	return state
}

// startHolder runs `unshare ARGS sh -c 'echo ready; exec sleep 100'`
// and returns its PID once the namespaces exist. Cleanup kills it by PID.
func startHolder(t *testing.T, args ...string) int {
	t.Helper()
	return startHolderScript(t, "", args...)
}

// startHolderScript is startHolder with a shell script that runs in the
// namespaces before the holder reports ready.
func startHolderScript(t *testing.T, script string, args ...string) int {
	t.Helper()
	args = append(args, "sh", "-c", script+"echo ready; exec sleep 100")
	cmd := exec.Command("unshare", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("needs unshare(1): %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("start unshare %v: got %q, %v, want \"ready\"", args, line, err)
	}
	return cmd.Process.Pid
}

func TestNoEnvIsNoop(t *testing.T) {
	out, err := childCommand().Output()
	if err != nil {
		t.Fatalf("run child without %s: %v", EnvFD, err)
	}
	var r report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("parse report %q: %v", out, err)
	}
	own := namespaces("self")
	if len(r.NS) == 0 {
		t.Fatal("child reported no namespaces")
	}
	for name, link := range own {
		if r.NS[name] != link {
			t.Errorf("%s namespace: got %q, want the parent's %q", name, r.NS[name], link)
		}
	}
	if r.UID != os.Getuid() {
		t.Errorf("uid: got %d, want %d", r.UID, os.Getuid())
	}
}

func TestInvalidEnvExits(t *testing.T) {
	cmd := childCommand()
	cmd.Env = append(cmd.Env, EnvFD+"=x")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
		t.Fatalf("run child with %s=x: got %v, want exit status 1", EnvFD, err)
	}
	if !strings.Contains(stderr.String(), EnvFD+"=x") {
		t.Errorf("stderr: got %q, want it to name %s=x", stderr.String(), EnvFD)
	}
}

func TestJoinNetByPath(t *testing.T) {
	needRoot(t)
	holder := startHolder(t, "--net")
	path := fmt.Sprintf("/proc/%d/ns/net", holder)
	want, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}

	c, err := startChild(t, Request{Join: []Namespace{{Type: "net", Path: path}}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if c.pid != c.cmd.Process.Pid {
		t.Errorf("pid: got %d, want the direct child %d (no fork)", c.pid, c.cmd.Process.Pid)
	}
	r := c.exchange(t)
	if r.NS["net"] != want {
		t.Errorf("net namespace: got %q, want %q", r.NS["net"], want)
	}
	if own := namespaces("self"); r.NS["mnt"] != own["mnt"] {
		t.Errorf("mnt namespace: got %q, want the parent's %q", r.NS["mnt"], own["mnt"])
	}
	if r.EnvAfter != "" {
		t.Errorf("%s after ChildSocket: got %q, want it unset", EnvFD, r.EnvAfter)
	}
	if r.SockFlags&0o2000000 == 0 {
		t.Errorf("socket flags: got %#o, want O_CLOEXEC set", r.SockFlags)
	}
}

func TestCreateUserTwoRanges(t *testing.T) {
	needRoot(t)
	ranges := []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: 100000, Size: 1000},
		{ContainerID: 1000, HostID: 300000, Size: 2000},
	}
	c, err := startChild(t, Request{
		Unshare:       []string{"user"},
		UIDMappings:   ranges,
		GIDMappings:   ranges,
		SetgroupsDeny: true,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r := c.exchange(t)

	for _, file := range []string{"uid_map", "gid_map"} {
		got := readIDMap(t, fmt.Sprintf("/proc/%d/%s", c.pid, file))
		if fmt.Sprint(got) != fmt.Sprint(ranges) {
			t.Errorf("%s: got %v, want %v", file, got, ranges)
		}
	}
	setgroups, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(setgroups)); got != "deny" {
		t.Errorf("setgroups: got %q, want \"deny\"", got)
	}
	if r.UID != 0 || r.GID != 0 {
		t.Errorf("uid, gid in the new user namespace: got %d, %d, want 0, 0", r.UID, r.GID)
	}
	if own := namespaces("self"); r.NS["user"] == own["user"] {
		t.Errorf("user namespace: got the parent's %q, want a new one", own["user"])
	}
}

func readIDMap(t *testing.T, path string) []specs.LinuxIDMapping {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m []specs.LinuxIDMapping
	for line := range strings.Lines(string(b)) {
		var r specs.LinuxIDMapping
		if _, err := fmt.Sscan(line, &r.ContainerID, &r.HostID, &r.Size); err != nil {
			t.Fatalf("parse %s line %q: %v", path, line, err)
		}
		m = append(m, r)
	}
	return m
}

func TestCreateUserUnmapped(t *testing.T) {
	needRoot(t)
	c, err := startChild(t, Request{Unshare: []string{"user"}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r := c.exchange(t)
	if r.UID != 65534 || r.GID != 65534 {
		t.Errorf("uid, gid without ID maps: got %d, %d, want the overflow IDs 65534, 65534", r.UID, r.GID)
	}
}

func TestJoinUserCreateNet(t *testing.T) {
	needRoot(t)
	// The holder maps uid 0 to a host uid other than 0, so the joiner
	// reads as uid 0 only if it switched to it.
	ranges := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	holder, err := startChild(t, Request{Unshare: []string{"user"}, UIDMappings: ranges, GIDMappings: ranges})
	if err != nil {
		t.Fatalf("Start holder: %v", err)
	}
	holder.exchange(t)
	userPath := fmt.Sprintf("/proc/%d/ns/user", holder.pid)
	wantUser, err := os.Readlink(userPath)
	if err != nil {
		t.Fatal(err)
	}

	c, err := startChild(t, Request{
		Join:    []Namespace{{Type: "user", Path: userPath}},
		Unshare: []string{"network"},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r := c.exchange(t)
	if r.NS["user"] != wantUser {
		t.Errorf("user namespace: got %q, want %q", r.NS["user"], wantUser)
	}
	own := namespaces("self")
	if r.NS["net"] == own["net"] {
		t.Errorf("net namespace: got the parent's %q, want a new one", own["net"])
	}
	if r.UID != 0 || r.GID != 0 {
		t.Errorf("uid, gid in the joined user namespace: got %d, %d, want 0, 0", r.UID, r.GID)
	}

	netns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	defer netns.Close()
	owner, err := linux.NamespaceOwner(netns)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	ownerInfo, err := owner.Stat()
	if err != nil {
		t.Fatal(err)
	}
	wantInfo, err := os.Stat(userPath)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(ownerInfo, wantInfo) {
		t.Errorf("owner of the new net namespace: got inode %d, want the joined user namespace %s", ownerInfo.Sys(), wantUser)
	}
}

func TestJoinPidByPath(t *testing.T) {
	needRoot(t)
	holder := startHolder(t, "--pid", "--fork", "--kill-child")
	path := fmt.Sprintf("/proc/%d/ns/pid_for_children", holder)
	want, err := os.Readlink(path)
	if err != nil {
		t.Fatal(err)
	}

	c, err := startChild(t, Request{Join: []Namespace{{Type: "pid", Path: path}}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if c.pid == c.cmd.Process.Pid {
		t.Errorf("pid: got the intermediate %d, want the forked grandchild", c.pid)
	}
	if c.cmd.ProcessState == nil || !c.cmd.ProcessState.Success() {
		t.Errorf("intermediate process: got state %v, want reaped with exit status 0", c.cmd.ProcessState)
	}
	r := c.exchange(t)
	if r.NS["pid"] != want {
		t.Errorf("pid namespace: got %q, want %q", r.NS["pid"], want)
	}
	if len(r.NSpid) != 2 || r.NSpid[0] != c.pid || r.NSpid[1] <= 1 {
		t.Errorf("NSpid: got %v, want [%d N] with N > 1 (the holder is pid 1)", r.NSpid, c.pid)
	}
}

func TestCreatePidForks(t *testing.T) {
	needRoot(t)
	c, err := startChild(t, Request{Unshare: []string{"pid", "mnt"}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r := c.exchange(t)
	if len(r.NSpid) != 2 || r.NSpid[0] != c.pid || r.NSpid[1] != 1 {
		t.Errorf("NSpid: got %v, want [%d 1]", r.NSpid, c.pid)
	}
	if own := namespaces("self"); r.NS["mnt"] == own["mnt"] {
		t.Errorf("mnt namespace: got the parent's %q, want a new one", own["mnt"])
	}
}

func TestCreateTimeWithOffsets(t *testing.T) {
	needRoot(t)
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skipf("needs time namespaces (CONFIG_TIME_NS): %v", err)
	}
	c, err := startChild(t, Request{
		Unshare:     []string{"time"},
		TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1000}, "boottime": {Secs: -5, Nanosecs: 7}},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r := c.exchange(t)
	for _, want := range []string{"monotonic 1000 0", "boottime -5 7"} {
		found := false
		for line := range strings.Lines(r.TimeNS) {
			found = found || strings.Join(strings.Fields(line), " ") == want
		}
		if !found {
			t.Errorf("timens_offsets: got %q, want a line %q", r.TimeNS, want)
		}
	}
}

func TestMissingPathNamesPath(t *testing.T) {
	needRoot(t)
	const path = "/nonexistent/nsenter-test/net"
	cmd := childCommand()
	_, _, err := Start(cmd, Request{Join: []Namespace{{Type: "net", Path: path}}})
	if err == nil {
		t.Fatal("Start: got no error, want one naming the missing path")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "net namespace") {
		t.Errorf("error: got %q, want it to name the net namespace and %s", err, path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%v, fs.ErrNotExist): got false, want true", err)
	}
	var setupErr *SetupError
	if !errors.As(err, &setupErr) {
		t.Errorf("error type: got %T, want it to wrap *SetupError", err)
	}
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("child: got state %v, want reaped with exit status 1", cmd.ProcessState)
	}
}

func TestJoinWrongTypeFails(t *testing.T) {
	needRoot(t)
	holder := startHolder(t, "--uts")
	path := fmt.Sprintf("/proc/%d/ns/uts", holder)
	_, _, err := Start(childCommand(), Request{Join: []Namespace{{Type: "net", Path: path}}})
	if err == nil {
		t.Fatal("Start: got no error, want one for a uts namespace joined as net")
	}
	if want := "join net namespace " + path + ": invalid argument"; !strings.Contains(err.Error(), want) {
		t.Errorf("error: got %q, want it to contain %q", err, want)
	}
}

func TestOverlappingMapFails(t *testing.T) {
	needRoot(t)
	cmd := childCommand()
	_, _, err := Start(cmd, Request{
		Unshare: []string{"user"},
		UIDMappings: []specs.LinuxIDMapping{
			{ContainerID: 0, HostID: 100000, Size: 10},
			{ContainerID: 5, HostID: 200000, Size: 10},
		},
	})
	if err == nil {
		t.Fatal("Start: got no error, want the kernel's rejection of overlapping ranges")
	}
	if !strings.Contains(err.Error(), "uid_map") || !errors.Is(err, unix.EINVAL) {
		t.Errorf("error: got %q, want it to name uid_map and wrap EINVAL", err)
	}
	if cmd.ProcessState == nil {
		t.Error("child state: got nil, want the child killed and reaped")
	}
}

func TestWireConstantsMatchC(t *testing.T) {
	want := map[string]int{
		"reqJoin": reqJoin, "reqUnshare": reqUnshare, "reqTimensSync": reqTimensSync,
		"reqEnd": reqEnd, "ackUserns": ackUserns, "ackTimens": ackTimens,
		"reqPause": reqPause, "reqResume": reqResume, "reqNullUserns": reqNullUserns,
		"msgUserns": msgUserns, "msgTimens": msgTimens, "msgError": msgError,
		"msgDone": msgDone, "msgResumed": msgResumed,
		"mappedUID0": mappedUID0, "mappedGID0": mappedGID0,
		"pauseCgroupns": pauseCgroupns, "pauseNullUser": pauseNullUser,
		"maxPayload": maxPayload, "maxJoin": maxJoin,
	}
	got := cWireConstants()
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s: got %d in nsenter.h, want %d as in wire.go", name, got[name], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("constants in nsenter.h: got %d, want %d", len(got), len(want))
	}
	if cEnvFD() != EnvFD {
		t.Errorf("NSENTER_ENV_FD: got %q, want %q", cEnvFD(), EnvFD)
	}
}

// A user namespace created by another process does not own the host's
// net namespace, so the net namespace has to be joined before it.
func TestJoinUserAndHostNet(t *testing.T) {
	needRoot(t)
	holder := startHolder(t, "--user", "--map-root-user", "--net")
	userPath := fmt.Sprintf("/proc/%d/ns/user", holder)
	netPath := fmt.Sprintf("/proc/%d/ns/net", os.Getpid())

	c, err := startChild(t, Request{Join: []Namespace{
		{Type: "user", Path: userPath},
		{Type: "net", Path: netPath},
	}})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	r := c.exchange(t)
	own := namespaces("self")
	if r.NS["net"] != own["net"] {
		t.Errorf("net namespace: got %q, want the host's %q", r.NS["net"], own["net"])
	}
	if want := namespaces(strconv.Itoa(holder))["user"]; r.NS["user"] != want {
		t.Errorf("user namespace: got %q, want %q", r.NS["user"], want)
	}
}

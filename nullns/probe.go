package nullns

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/internal/linux"
)

// Kernels that first have each feature. kernelUnmerged stands for features
// that only the draft null-namespace kernel branch has.
const (
	kernelFailfs     = "7.3"
	kernelEmptyMntns = "7.1"
	kernelOpenTreeNS = "7.0"
	kernelLandlock   = "5.13"
	kernelLandlock4  = "6.7"
	kernelLandlock6  = "6.12"
	kernelSeccomp    = "4.14"
	kernelUnmerged   = "no released kernel; only the unmerged null-namespace branch"
)

// Flag values of the kernel features, which x/sys/unix does not define yet.
const (
	// unshareEmptyMntns is UNSHARE_EMPTY_MNTNS. It reuses the bit of
	// CLONE_PARENT_SETTID, which unshare(2) rejected before Linux 7.1.
	unshareEmptyMntns = 0x00100000
	// cloneEmptyMntnsMerged is CLONE_EMPTY_MNTNS as merged for Linux 7.1.
	cloneEmptyMntnsMerged = 1 << 37
	// cloneEmptyMntnsPosted is CLONE_EMPTY_MNTNS in the first posting of
	// the patches, which some vendor kernels carry.
	cloneEmptyMntnsPosted = 1 << 34
	// openTreeNamespace is OPEN_TREE_NAMESPACE (Linux 7.0).
	openTreeNamespace = 1 << 1
	// probeMsgKey is a System V IPC key that no queue is expected to use.
	probeMsgKey = 0x6e756c6c
)

// Feature is one kernel feature as probed on the running kernel.
type Feature struct {
	// Name is the feature as the kernel documentation calls it.
	Name string `json:"name"`
	// Kernel is the first kernel release that has the feature.
	Kernel string `json:"kernel"`
	// Available reports whether the probe matched the feature's signature.
	Available bool `json:"available"`
	// Detail is the signature seen, or why the probe could not decide.
	Detail string `json:"detail,omitempty"`
}

// Probes are the results of probing every kernel feature that can enforce a
// null setting natively, and those the emulation depends on.
type Probes struct {
	// Failfs is fchroot(2) with FD_FAILFS_ROOT: a null root.
	Failfs Feature `json:"failfs"`
	// FailfsCwd is fchdir(2) with FD_FAILFS_ROOT: a null working directory.
	FailfsCwd Feature `json:"failfsCwd"`
	// EmptyMntnsUnshare is unshare(2) with UNSHARE_EMPTY_MNTNS.
	EmptyMntnsUnshare Feature `json:"emptyMntnsUnshare"`
	// EmptyMntnsClone is clone3(2) with CLONE_EMPTY_MNTNS. It is available
	// only if the kernel accepted one of the two bits the flag has had and
	// UNSHARE_EMPTY_MNTNS showed an empty mount namespace.
	EmptyMntnsClone Feature `json:"emptyMntnsClone"`
	// CloneEmptyMntnsFlag is the clone3 flag bit of CLONE_EMPTY_MNTNS that
	// the kernel accepted, or 0.
	CloneEmptyMntnsFlag uint64 `json:"cloneEmptyMntnsFlag"`
	// OpenTreeNamespace is open_tree(2) with OPEN_TREE_NAMESPACE.
	OpenTreeNamespace Feature `json:"openTreeNamespace"`
	// NullNetwork, NullIPC and NullUTS report that this process already
	// sits in a null namespace of the unmerged null-namespace branch, as the
	// errno of socket, msgget and uname show. That branch has no call to
	// enter one, so a container can only inherit it from the runtime.
	NullNetwork Feature `json:"nullNetwork"`
	NullIPC     Feature `json:"nullIPC"`
	NullUTS     Feature `json:"nullUTS"`
	// Landlock is the Landlock LSM; LandlockABI is its ABI version, 0 when
	// it is missing or disabled.
	Landlock    Feature `json:"landlock"`
	LandlockABI int     `json:"landlockABI"`
	// Seccomp is seccomp filtering with SECCOMP_RET_ERRNO.
	Seccomp Feature `json:"seccomp"`
}

// probeChildEnv marks the throw-away process that RunProbeChild serves.
const probeChildEnv = "_NULLRUN_NULLNS_PROBE"

var (
	probeOnce sync.Once
	probed    *Probes
)

// Probe returns the probe results for the running kernel. The first call
// probes: Landlock and seccomp in this process with calls that change
// nothing, and every feature whose probe could change state (a syscall
// number that three proposals claim, a namespace switch, a new root) in a
// throw-away child that re-executes this binary, which must call
// RunProbeChild first thing in main or TestMain. Later calls return the
// cached result. When the child cannot run, those features read as not
// available, with the reason in Detail, so Plan falls back to the
// emulation instead of trusting a feature it could not see.
func Probe() *Probes {
	probeOnce.Do(func() { probed = probeKernel() })
	return probed
}

func probeKernel() *Probes {
	p := newProbes()
	if err := probeInChild(p); err != nil {
		for _, f := range p.childFeatures() {
			f.Detail = err.Error()
		}
	}
	probeLandlock(p)
	probeSeccomp(p)
	return p
}

func newProbes() *Probes {
	return &Probes{
		Failfs:            Feature{Name: "failfs fchroot(FD_FAILFS_ROOT)", Kernel: kernelFailfs},
		FailfsCwd:         Feature{Name: "failfs fchdir(FD_FAILFS_ROOT)", Kernel: kernelFailfs},
		EmptyMntnsUnshare: Feature{Name: "UNSHARE_EMPTY_MNTNS", Kernel: kernelEmptyMntns},
		EmptyMntnsClone:   Feature{Name: "CLONE_EMPTY_MNTNS", Kernel: kernelEmptyMntns},
		OpenTreeNamespace: Feature{Name: "OPEN_TREE_NAMESPACE", Kernel: kernelOpenTreeNS},
		NullNetwork:       Feature{Name: "null network namespace", Kernel: kernelUnmerged},
		NullIPC:           Feature{Name: "null IPC namespace", Kernel: kernelUnmerged},
		NullUTS:           Feature{Name: "null UTS namespace", Kernel: kernelUnmerged},
		Landlock:          Feature{Name: "Landlock", Kernel: kernelLandlock},
		Seccomp:           Feature{Name: "seccomp filter with SECCOMP_RET_ERRNO", Kernel: kernelSeccomp},
	}
}

// childFeatures returns the features that the throw-away child probes.
func (p *Probes) childFeatures() []*Feature {
	return []*Feature{&p.Failfs, &p.FailfsCwd, &p.EmptyMntnsUnshare, &p.EmptyMntnsClone,
		&p.OpenTreeNamespace, &p.NullNetwork, &p.NullIPC, &p.NullUTS}
}

func probeLandlock(p *Probes) {
	abi, err := linux.LandlockABI()
	if err != nil {
		p.Landlock.Detail = err.Error()
		return
	}
	p.LandlockABI = abi
	p.Landlock.Available = abi >= 1
	p.Landlock.Detail = fmt.Sprintf("ABI %d", abi)
}

func probeSeccomp(p *Probes) {
	if err := linux.SeccompActionAvailable(unix.SECCOMP_RET_ERRNO); err != nil {
		p.Seccomp.Detail = err.Error()
		return
	}
	p.Seccomp.Available = true
}

// probeInChild runs this binary again as the probe child and merges its
// results into p.
func probeInChild(p *Probes) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the probe child binary: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	cmd := exec.CommandContext(ctx, exe)
	cmd.Args = []string{"nullns-probe"}
	cmd.Env = []string{probeChildEnv + "=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run probe child %s: %w: %s", exe, err, bytes.TrimSpace(stderr.Bytes()))
	}

	var got Probes
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		return fmt.Errorf("read probe child output (does main call nullns.RunProbeChild?): %w", err)
	}
	for i, f := range got.childFeatures() {
		*p.childFeatures()[i] = *f
	}
	p.CloneEmptyMntnsFlag = got.CloneEmptyMntnsFlag
	return nil
}

// RunProbeChild runs the probes and exits if this process is the throw-away
// child that Probe starts, and returns at once otherwise. Call it first
// thing in main (and in TestMain of packages whose tests call Probe): the
// child enters a new root, so nothing else may run in it.
func RunProbeChild() {
	if os.Getenv(probeChildEnv) != "1" {
		return
	}
	// The probes change the mount namespace and root of one thread, then
	// look at the result from that same thread.
	runtime.LockOSThread()

	p := newProbes()
	probeChild(p)
	if err := json.NewEncoder(os.Stdout).Encode(p); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// probeChild runs the child's probes in an order that leaves the
// state-changing ones for last: fchroot(FD_FAILFS_ROOT) removes the root
// that everything before it may still use.
func probeChild(p *Probes) {
	cloneBit := probeCloneBits(p)
	probeOpenTree(p)
	probeNullNamespaces(p)
	probeFailfsCwd(p)
	probeEmptyMntns(p, cloneBit)
	probeFailfsRoot(p)
}

// probeCloneBits returns the CLONE_EMPTY_MNTNS bit that clone3 accepts,
// preferring the merged one, or 0.
func probeCloneBits(p *Probes) uint64 {
	for _, bit := range []uint64{cloneEmptyMntnsMerged, cloneEmptyMntnsPosted} {
		err := linux.Clone3FlagAccepted(bit)
		if err == nil {
			return bit
		}
		if p.EmptyMntnsClone.Detail != "" {
			p.EmptyMntnsClone.Detail += "; "
		}
		p.EmptyMntnsClone.Detail += fmt.Sprintf("clone3 flag %#x: %v", bit, err)
	}
	return 0
}

func probeOpenTree(p *Probes) {
	err := linux.OpenTreeFlagAccepted(openTreeNamespace)
	p.OpenTreeNamespace.Available = err == nil
	p.OpenTreeNamespace.Detail = signature("open_tree flag accepted", err)
}

func probeNullNamespaces(p *Probes) {
	err := linux.ProbeSocket(unix.AF_INET, unix.SOCK_DGRAM)
	p.NullNetwork.Available = errors.Is(err, unix.ENONET)
	p.NullNetwork.Detail = signature("socket(AF_INET) succeeded", err)

	err = linux.ProbeMsgget(probeMsgKey)
	p.NullIPC.Available = errors.Is(err, unix.ENOSYS)
	p.NullIPC.Detail = signature("msgget found a queue", err)

	err = linux.ProbeUname()
	p.NullUTS.Available = errors.Is(err, unix.ENOENT)
	p.NullUTS.Detail = signature("uname succeeded", err)
}

// probeFailfsCwd enters failfs as the working directory and returns to the
// previous one. A kernel without failfs rejects the sentinel with EBADF.
func probeFailfsCwd(p *Probes) {
	cwd, err := os.Open(".")
	if err != nil {
		p.FailfsCwd.Detail = err.Error()
		return
	}
	defer cwd.Close()

	if err := linux.FchdirFD(linux.FDFailfsRoot); err != nil {
		p.FailfsCwd.Detail = err.Error()
		return
	}
	_, err = os.OpenFile(".", unix.O_PATH, 0)
	p.FailfsCwd.Available = errors.Is(err, unix.EOPNOTSUPP)
	p.FailfsCwd.Detail = "fchdir succeeded, then " + signature("open(\".\") succeeded", err)
	if err := linux.Fchdir(cwd); err != nil {
		p.FailfsCwd.Available = false
		p.FailfsCwd.Detail += "; " + err.Error()
	}
}

// probeEmptyMntns moves the child into an empty mount namespace: its root
// must list no entries.
func probeEmptyMntns(p *Probes, cloneBit uint64) {
	if err := linux.Unshare(unshareEmptyMntns); err != nil {
		p.EmptyMntnsUnshare.Detail = err.Error()
		return
	}
	entries, err := os.ReadDir("/")
	switch {
	case err != nil:
		p.EmptyMntnsUnshare.Detail = "unshare succeeded, then " + err.Error()
	case len(entries) > 0:
		p.EmptyMntnsUnshare.Detail = fmt.Sprintf("unshare succeeded, but / lists %d entries", len(entries))
	default:
		p.EmptyMntnsUnshare.Available = true
		p.EmptyMntnsUnshare.Detail = "unshare succeeded and / is empty"
	}

	if p.EmptyMntnsUnshare.Available && cloneBit != 0 {
		p.EmptyMntnsClone.Available = true
		p.CloneEmptyMntnsFlag = cloneBit
		p.EmptyMntnsClone.Detail = fmt.Sprintf("clone3 accepted flag %#x", cloneBit)
	}
}

// probeFailfsRoot calls syscall 472 with FD_FAILFS_ROOT and accepts it as
// fchroot only if the root then fails every lookup with EOPNOTSUPP.
func probeFailfsRoot(p *Probes) {
	// fchroot rejects a caller sharing its fs_struct, as Go threads do,
	// and an unprivileged one without no_new_privs. Both changes die with
	// this child.
	if err := linux.Unshare(unix.CLONE_FS); err != nil {
		p.Failfs.Detail = err.Error()
		return
	}
	if err := linux.SetNoNewPrivs(); err != nil {
		p.Failfs.Detail = err.Error()
		return
	}
	if err := linux.Fchroot(linux.FDFailfsRoot, 0); err != nil {
		p.Failfs.Detail = fmt.Sprintf("syscall %d: %v", linux.SysFchroot, err)
		return
	}
	_, err := os.OpenFile("/", unix.O_PATH, 0)
	p.Failfs.Available = errors.Is(err, unix.EOPNOTSUPP)
	p.Failfs.Detail = fmt.Sprintf("syscall %d succeeded, then %s", linux.SysFchroot,
		signature("open(\"/\") succeeded", err))
}

// signature describes the outcome of a probe call.
func signature(success string, err error) string {
	if err == nil {
		return success
	}
	return err.Error()
}

package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	bootapi "github.com/containerd/containerd/api/runtime/bootstrap/v1"
	"github.com/containerd/containerd/api/types"
	runtimeoptions "github.com/containerd/containerd/api/types/runtimeoptions/v1"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	pkgshim "github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/typeurl/v2"
	"golang.org/x/sys/unix"

	"github.com/nullrun/nullrun/nullns"
	"github.com/nullrun/nullrun/runtime"
	"github.com/nullrun/nullrun/specext"
)

// Manager starts and cleans up shim processes and answers containerd's
// -info query. It implements containerd's pkg/shim Shim interface.
type Manager struct {
	name string
}

// NewManager returns the manager of the shim registered as name.
func NewManager(name string) *Manager {
	return &Manager{name: name}
}

var _ pkgshim.Shim = (*Manager)(nil)

// Name returns the runtime type the shim serves.
func (m *Manager) Name() string { return m.name }

// Start starts the long-running shim process for one task and returns
// the address of its ttrpc socket. It runs in the short-lived process that
// containerd starts with the "start" action, in the bundle directory.
//
// Each task gets its own shim process: tasks are not grouped by pod.
func (m *Manager) Start(ctx context.Context, params *bootapi.BootstrapParams) (_ *bootapi.BootstrapResult, err error) {
	id := params.GetInstanceID()
	ns, ok := namespaceOf(ctx)
	if !ok {
		return nil, fmt.Errorf("start shim: no namespace")
	}
	socketDir := params.GetSocketDir()
	if socketDir == "" {
		socketDir = filepath.Join(defaults.DefaultStateDir, "s")
	}
	address, err := pkgshim.CreateSocketAddress(ctx, socketDir, params.GetContainerdGrpcAddress(), id, false)
	if err != nil {
		return nil, err
	}
	listener, err := pkgshim.NewSocket(address)
	if err != nil {
		if !pkgshim.SocketEaddrinuse(err) {
			return nil, fmt.Errorf("create shim socket: %w", err)
		}
		if pkgshim.CanConnect(address) {
			// A shim for this ID already serves the socket.
			return &bootapi.BootstrapResult{Version: 3, Protocol: "ttrpc", Address: address}, nil
		}
		// A socket file left by a shim that died.
		if err := pkgshim.RemoveSocket(address); err != nil {
			return nil, fmt.Errorf("remove stale shim socket: %w", err)
		}
		if listener, err = pkgshim.NewSocket(address); err != nil {
			return nil, fmt.Errorf("create shim socket: %w", err)
		}
	}
	defer func() {
		if err != nil {
			listener.Close()
			pkgshim.RemoveSocket(address)
		}
	}()
	socket, err := listener.File()
	if err != nil {
		return nil, fmt.Errorf("create shim socket: %w", err)
	}
	defer socket.Close()

	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the shim binary: %w", err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find the bundle directory: %w", err)
	}
	args := []string{"-namespace", ns, "-id", id, "-address", params.GetContainerdGrpcAddress()}
	if params.GetLogLevel() <= bootapi.LogLevel_LOG_LEVEL_DEBUG {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = cwd
	cmd.Env = os.Environ()
	// Its own process group, so a signal to containerd's group does not
	// take down the shim and with it the containers' stdio.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// The pkg/shim server takes its listening socket from fd 3.
	cmd.ExtraFiles = []*os.File{socket}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start shim process: %w", err)
	}
	go cmd.Wait()
	if err := pkgshim.AdjustOOMScore(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("adjust the shim's OOM score: %w", err)
	}
	return &bootapi.BootstrapResult{Version: 3, Protocol: "ttrpc", Address: address}, nil
}

// Stop removes what is left of a task whose shim has died: containerd runs
// it through the "delete" action, in the bundle directory. It force-deletes
// the container, unmounts the rootfs and returns the init's exit, as
// recorded by the dead shim, or 128+SIGKILL when none was recorded.
func (m *Manager) Stop(ctx context.Context, id string) (pkgshim.StopStatus, error) {
	bundle, err := os.Getwd()
	if err != nil {
		return pkgshim.StopStatus{}, fmt.Errorf("find the bundle directory: %w", err)
	}
	ns, ok := namespaceOf(ctx)
	if !ok {
		return pkgshim.StopStatus{}, fmt.Errorf("delete task %s: no namespace", id)
	}
	l := log.G(ctx).WithField("id", id)
	opts, err := readBundleOptions(bundle)
	if err != nil {
		return pkgshim.StopStatus{}, err
	}
	rt, err := runtime.New(runtime.Options{Root: opts.stateRoot(ns), SystemdCgroup: opts.SystemdCgroup})
	if err != nil {
		return pkgshim.StopStatus{}, err
	}
	if ctr, err := rt.Load(id); err == nil {
		if err := ctr.Delete(true); err != nil {
			l.WithError(err).Warn("delete the container of a dead shim")
		}
	} else if !errors.Is(err, runtime.ErrNotExist) {
		l.WithError(err).Warn("load the container of a dead shim")
	}
	stoppedAt := time.Now()
	unmountRootfs(l, filepath.Join(bundle, "rootfs"))

	e, err := readExit(bundle)
	if err == nil {
		return pkgshim.StopStatus{Pid: e.Pid, ExitStatus: e.Status, ExitedAt: e.ExitedAt}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		l.WithError(err).Warn("read the init's recorded exit")
	}
	return pkgshim.StopStatus{ExitedAt: stoppedAt, ExitStatus: 128 + int(unix.SIGKILL)}, nil
}

// Info returns the runtime's name, version and features: the OCI features
// document of runtime.Features, with one dev.nullrun.enforcement.<setting>
// annotation per null setting saying how this kernel enforces it, and the
// grant annotations listed as potentially unsafe. It validates the
// options containerd passes on stdin.
func (m *Manager) Info(ctx context.Context, optionsR io.Reader) (*types.RuntimeInfo, error) {
	info := &types.RuntimeInfo{
		Name:    m.name,
		Version: &types.RuntimeVersion{Version: shimVersion()},
	}
	opts, err := pkgshim.ReadRuntimeOptions[*runtimeoptions.Options](optionsR)
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("read runtime options: %w", err)
	default:
		if info.Options, err = typeurl.MarshalAnyToProto(opts); err != nil {
			return nil, fmt.Errorf("encode runtime options: %w", err)
		}
	}

	features := runtime.Features()
	for _, e := range nullns.Describe(nullns.Probe()) {
		features.Annotations[enforcementAnnotation+string(e.Setting)] = e.String()
	}
	// A grant makes the runtime open a host path with its own privileges,
	// so a client that passes untrusted annotations must filter it.
	features.PotentiallyUnsafeConfigAnnotations = append(features.PotentiallyUnsafeConfigAnnotations,
		specext.GrantKeyPrefix)
	if info.Features, err = typeurl.MarshalAnyToProto(features); err != nil {
		return nil, fmt.Errorf("encode features: %w", err)
	}
	return info, nil
}

// enforcementAnnotation prefixes the features annotations that say how
// this kernel enforces each null setting.
const enforcementAnnotation = "dev.nullrun.enforcement."

func namespaceOf(ctx context.Context) (string, bool) {
	return namespaces.Namespace(ctx)
}

package shim

import (
	"context"

	pkgshim "github.com/containerd/containerd/v2/pkg/shim"
	"github.com/containerd/containerd/v2/pkg/shutdown"
	"github.com/containerd/containerd/v2/plugins"
	"github.com/containerd/plugin"
	"github.com/containerd/plugin/registry"
)

// Run runs the shim binary: the "start" and "delete" actions, the -info
// query, or the long-running task service. It does not return.
//
// The binary's main must dispatch "init" (the container init, which is the
// shim binary re-executed) and call nullns.RunProbeChild before Run.
func Run() {
	registry.Register(&plugin.Registration{
		Type:     plugins.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugins.EventPlugin, plugins.InternalPlugin},
		InitFn: func(ic *plugin.InitContext) (any, error) {
			publisher, err := ic.GetByID(plugins.EventPlugin, "publisher")
			if err != nil {
				return nil, err
			}
			sd, err := ic.GetByID(plugins.InternalPlugin, "shutdown")
			if err != nil {
				return nil, err
			}
			return NewService(ic.Context, publisher.(pkgshim.Publisher), sd.(shutdown.Service))
		},
	})
	// The service reaps its children itself: see reaper.go.
	pkgshim.RunShim(context.Background(), NewManager(RuntimeName), func(c *pkgshim.Config) {
		c.NoReaper = true
	})
}

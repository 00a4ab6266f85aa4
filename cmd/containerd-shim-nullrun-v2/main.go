// Command containerd-shim-nullrun-v2 is containerd's shim for nullrun, the
// runtime type io.containerd.nullrun.v2 of containerd 2.x. It runs the
// containers in-process with nullrun's runtime package; see package shim.
package main

import (
	"errors"
	"fmt"
	"os"

	containerdversion "github.com/containerd/containerd/v2/version"

	"github.com/nullrun/nullrun/nullns"
	"github.com/nullrun/nullrun/runtime"
	"github.com/nullrun/nullrun/shim"
)

// version is nullrun's version, set at link time with -X main.version like
// the nullrun binary's.
var version = "0.1.0-dev"

func main() {
	// The runtime re-executes this binary as every container's init and
	// exec process.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		err := runtime.Init()
		if err == nil {
			err = errors.New("run container init: returned without executing the container process")
		}
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The kernel probes for null settings run in a throw-away re-exec of
	// this binary; this returns at once in every other process.
	nullns.RunProbeChild()
	// -v prints containerd's version variable: make it say which shim
	// this is, and which containerd it was built against.
	containerdversion.Version = version + " (nullrun; containerd " + containerdversion.Version + ")"
	shim.Run()
}

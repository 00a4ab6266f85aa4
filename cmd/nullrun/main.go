// Command nullrun is an OCI container runtime with the command line of runc
// 1.1: the same commands, flags, state JSON, log format and exit codes, so
// containerd, conmon and podman can call it in runc's place.
//
// Build with -ldflags "-X main.version=V -X main.gitCommit=C" to stamp the
// version that --version prints.
package main

import (
	"os"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli"

	"github.com/nullrun/nullrun/nullns"
)

// version and gitCommit are set at link time with -X; the defaults mark a
// build that was not stamped.
var (
	version   = "0.1.0-dev"
	gitCommit = "unknown"
)

const (
	appName    = "nullrun"
	specConfig = "config.json"
	appUsage   = `Open Container Initiative runtime with null namespaces

nullrun is a command line client for running applications packaged according
to the Open Container Initiative (OCI) format. It accepts runc's commands and
flags, and adds null namespaces: a container can be given no namespace of a
kind instead of a fresh one.

Containers are configured using bundles. A bundle for a container is a directory
that includes a specification file named "` + specConfig + `" and a root filesystem.
The root filesystem contains the contents of the container.

To start a new instance of a container:

    # nullrun run [ -b bundle ] <container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host. Providing the bundle directory using "-b" is optional. The default
value for "bundle" is the current directory.`
)

func main() {
	// The runtime re-executes this binary as every container's init, so
	// that path skips building the command line app.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		runInit()
	}
	// The kernel probes for null settings run in a throw-away re-exec of
	// this binary; this returns at once in every other process.
	nullns.RunProbeChild()

	cli.ErrWriter = &fatalWriter{next: cli.ErrWriter}
	if err := newApp().Run(os.Args); err != nil {
		fatal(err)
	}
}

// newApp builds the command line app. It runs only when a command is
// dispatched, never at package initialisation.
func newApp() *cli.App {
	app := cli.NewApp()
	app.Name = appName
	app.Usage = appUsage
	app.Version = version + "\ncommit: " + gitCommit + "\nspec: " + specs.Version
	app.Flags = globalFlags()
	app.Commands = []cli.Command{
		checkpointCommand,
		createCommand,
		deleteCommand,
		eventsCommand,
		execCommand,
		featuresCommand,
		killCommand,
		listCommand,
		pauseCommand,
		psCommand,
		restoreCommand,
		resumeCommand,
		runCommand,
		sandboxCommand,
		specCommand,
		startCommand,
		stateCommand,
		updateCommand,
		initCommand,
	}
	app.Before = setupLogging
	return app
}

func globalFlags() []cli.Flag {
	return []cli.Flag{
		cli.BoolFlag{
			Name:  "debug",
			Usage: "enable debug logging",
		},
		cli.StringFlag{
			Name:  "log",
			Usage: "set the log file to write nullrun logs to (default is '/dev/stderr')",
		},
		cli.StringFlag{
			Name:  "log-format",
			Value: "text",
			Usage: "set the log format ('text' (default), or 'json')",
		},
		cli.StringFlag{
			Name:  "root",
			Value: defaultRoot(),
			Usage: "root directory for storage of container state (this should be located in tmpfs)",
		},
		cli.BoolFlag{
			Name:  "systemd-cgroup",
			Usage: "enable systemd cgroup support, expects cgroupsPath to be of form \"slice:prefix:name\" for e.g. \"system.slice:nullrun:434234\"",
		},
		cli.StringFlag{
			Name:  "rootless",
			Value: "auto",
			Usage: "ignore cgroup permission errors ('true', 'false', or 'auto')",
		},
	}
}

// defaultRoot returns /run/nullrun for root. Other users cannot write
// there, so like runc they get $XDG_RUNTIME_DIR/nullrun when it is set.
func defaultRoot() string {
	if os.Geteuid() != 0 {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			return dir + "/" + appName
		}
	}
	return "/run/" + appName
}

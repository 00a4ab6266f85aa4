package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
)

const containerIDUsage = `<container-id>

Where "<container-id>" is your name for the instance of the container that you
are starting. The name you provide for the container instance must be unique on
your host.`

const createDescription = `The create command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "` + specConfig + `" and a root
filesystem.

The specification file includes an args parameter. The args parameter is used
to specify command(s) that get run when the container is started. To change the
command(s) that get executed on start, edit the args parameter of the spec. See
"nullrun spec --help" for more explanation.`

// createFlags are the flags create and run share.
var createFlags = []cli.Flag{
	cli.StringFlag{
		Name:  "bundle, b",
		Value: ".",
		Usage: "path to the root of the bundle directory, defaults to the current directory",
	},
	cli.StringFlag{
		Name:  "console-socket",
		Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal",
	},
	cli.StringFlag{
		Name:  "pid-file",
		Usage: "specify the file to write the process id to",
	},
	cli.BoolFlag{
		Name:  "no-pivot",
		Usage: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk",
	},
	cli.BoolFlag{
		Name:  "no-new-keyring",
		Usage: "do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key",
	},
	cli.IntFlag{
		Name:  "preserve-fds",
		Usage: "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)",
	},
}

var createCommand = cli.Command{
	Name:        "create",
	Usage:       "create a container",
	ArgsUsage:   containerIDUsage,
	Description: createDescription,
	Flags:       createFlags,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		opts, err := createOptions(ctx)
		if err != nil {
			return err
		}
		if err := checkTerminal(opts.Bundle, true, opts.ConsoleSocket); err != nil {
			return err
		}

		rt, err := newRuntime(ctx)
		if err != nil {
			return err
		}
		_, err = rt.Create(ctx.Args().First(), opts)
		return err
	},
}

// createOptions collects the create flags, with paths made absolute.
func createOptions(ctx *cli.Context) (runtime.CreateOptions, error) {
	var opts runtime.CreateOptions
	var err error
	if opts.Bundle, err = absPath(ctx, "bundle"); err != nil {
		return opts, err
	}
	if opts.PidFile, err = absPath(ctx, "pid-file"); err != nil {
		return opts, err
	}
	if opts.ConsoleSocket, err = absPath(ctx, "console-socket"); err != nil {
		return opts, err
	}
	if opts.PreserveFDs = ctx.Int("preserve-fds"); opts.PreserveFDs < 0 {
		return opts, fmt.Errorf("invalid --preserve-fds %d: use a count of 0 or more", opts.PreserveFDs)
	}
	opts.NoPivot = ctx.Bool("no-pivot")
	opts.NoNewKeyring = ctx.Bool("no-new-keyring")
	return opts, nil
}

// checkTerminal rejects the combinations of process.terminal, detaching and
// --console-socket that leave the pty master with no reader: a detached
// container with a terminal needs a socket to send the master to, and a
// socket is only used by a detached container with a terminal. When
// config.json cannot be read it returns nil and leaves the error to Create.
func checkTerminal(bundle string, detach bool, consoleSocket string) error {
	data, err := os.ReadFile(filepath.Join(bundle, specConfig))
	if err != nil {
		return nil
	}
	var spec struct {
		Process *struct {
			Terminal bool `json:"terminal"`
		} `json:"process"`
	}
	if json.Unmarshal(data, &spec) != nil || spec.Process == nil {
		return nil
	}

	terminal := spec.Process.Terminal
	if detach && terminal && consoleSocket == "" {
		return errors.New("cannot allocate a terminal for a detached container: " +
			"pass --console-socket, or set process.terminal to false")
	}
	if consoleSocket != "" && (!detach || !terminal) {
		return errors.New("cannot use --console-socket: it needs a detached container " +
			"with process.terminal set to true")
	}
	return nil
}

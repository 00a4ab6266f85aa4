package main

import (
	"os"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
)

var runCommand = cli.Command{
	Name:      "run",
	Usage:     "create and run a container",
	ArgsUsage: containerIDUsage,
	Description: `The run command creates an instance of a container for a bundle. The bundle
is a directory with a specification file named "` + specConfig + `" and a root
filesystem.

The specification file includes an args parameter. The args parameter is used
to specify command(s) that get run when the container is started. To change the
command(s) that get executed on start, edit the args parameter of the spec. See
"nullrun spec --help" for more explanation.

Without --detach, nullrun stays in the foreground: it forwards the signals it
receives to the container's init, waits for it, deletes the container unless
--keep is given, and exits with the init's exit status (128+N when signal N
killed it).`,
	Flags: runFlags(),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		opts, err := createOptions(ctx)
		if err != nil {
			return err
		}
		detach := ctx.Bool("detach")
		if err := checkTerminal(opts.Bundle, detach, opts.ConsoleSocket); err != nil {
			return err
		}

		rt, err := newRuntime(ctx)
		if err != nil {
			return err
		}
		id := ctx.Args().First()
		if detach {
			return runDetached(rt, id, opts)
		}

		status, err := runForeground(rt, id, opts, ctx.Bool("keep"))
		if err != nil {
			return err
		}
		os.Exit(status)
		return nil
	},
}

// runDetached creates and starts the container and returns once it runs.
// A container that fails to start is deleted so the ID can be reused.
func runDetached(rt *runtime.Runtime, id string, opts runtime.CreateOptions) error {
	c, err := rt.Create(id, opts)
	if err != nil {
		return err
	}
	if err := c.Start(); err != nil {
		_ = c.Delete(true)
		return err
	}
	return nil
}

// runFlags returns the create flags plus --detach and --keep, in the order
// runc's help lists them.
func runFlags() []cli.Flag {
	flags := make([]cli.Flag, 0, len(createFlags)+2)
	flags = append(flags, createFlags[:2]...) // --bundle, --console-socket
	flags = append(flags,
		cli.BoolFlag{
			Name:  "detach, d",
			Usage: "detach from the container's process",
		},
		cli.BoolFlag{
			Name:  "keep",
			Usage: "do not delete the container after it exits",
		},
	)
	return append(flags, createFlags[2:]...)
}

package main

import (
	"os"
	"os/signal"

	"github.com/urfave/cli"

	"github.com/nullrun/nullrun/runtime"
)

var restoreCommand = cli.Command{
	Name:  "restore",
	Usage: "restore a container from a previous checkpoint",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
restored.`,
	Description: `Restores the saved state of the container instance that was previously saved
using the nullrun checkpoint command.

It runs "criu check" first and fails with criu's own report when criu cannot
work on this kernel. Without --detach, nullrun forwards signals to the restored
init, waits for it, deletes the container and exits with its exit status.`,
	Flags: append([]cli.Flag{
		cli.StringFlag{Name: "console-socket", Value: "", Usage: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal (not supported)"},
		cli.StringFlag{Name: "image-path", Value: "", Usage: "path to criu image files for restoring"},
		cli.StringFlag{Name: "work-path", Value: "", Usage: "path for saving work files and logs"},
		cli.StringFlag{Name: "bundle, b", Value: "", Usage: "path to the root of the bundle directory"},
		cli.BoolFlag{Name: "detach, d", Usage: "detach from the container's process"},
		cli.StringFlag{Name: "pid-file", Value: "", Usage: "specify the file to write the process id to"},
		cli.BoolFlag{Name: "no-subreaper", Usage: "disable the use of the subreaper used to reap reparented processes"},
		cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk"},
		cli.StringFlag{Name: "lsm-profile", Value: "", Usage: "Specify an LSM profile to be used during restore in the form of TYPE:NAME."},
		cli.StringFlag{Name: "lsm-mount-context", Value: "", Usage: "Specify an LSM mount context to be used during restore."},
	}, criuFlags()...),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		shared, err := criuOptions(ctx)
		if err != nil {
			return err
		}
		opts := runtime.RestoreOptions{
			CRIUOptions:     shared,
			Bundle:          ctx.String("bundle"),
			ConsoleSocket:   ctx.String("console-socket"),
			PidFile:         ctx.String("pid-file"),
			Foreground:      !ctx.Bool("detach"),
			NoSubreaper:     ctx.Bool("no-subreaper"),
			NoPivot:         ctx.Bool("no-pivot"),
			LSMProfile:      ctx.String("lsm-profile"),
			LSMMountContext: ctx.String("lsm-mount-context"),
		}
		if opts.PidFile, err = absPath(ctx, "pid-file"); err != nil {
			return err
		}
		rt, err := newRuntime(ctx)
		if err != nil {
			return err
		}
		id := ctx.Args().First()
		// Without the subreaper the restored init is not this process's
		// child and cannot be waited for, so restore returns at once.
		if !opts.Foreground || opts.NoSubreaper {
			_, err := rt.Restore(id, opts)
			return err
		}

		// Subscribe before the restore so no signal is lost in between.
		signals := make(chan os.Signal, 128)
		signal.Notify(signals)
		defer signal.Stop(signals)
		c, err := rt.Restore(id, opts)
		if err != nil {
			return err
		}
		status, err := waitForwarding(c, id, signals, nil)
		_ = c.Delete(true)
		if err != nil {
			return err
		}
		os.Exit(status)
		return nil
	},
}

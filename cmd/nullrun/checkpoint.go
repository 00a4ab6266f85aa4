package main

import (
	"github.com/urfave/cli"

	"github.com/nullrun/nullrun/runtime"
)

var checkpointCommand = cli.Command{
	Name:  "checkpoint",
	Usage: "checkpoint a running container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container to be
checkpointed.`,
	Description: `The checkpoint command saves the state of the container instance with criu.

It runs "criu check" first and fails with criu's own report when criu cannot
work on this kernel. Containers with null settings cannot be checkpointed.`,
	Flags: append([]cli.Flag{
		cli.StringFlag{Name: "image-path", Value: "", Usage: "path for saving criu image files"},
		cli.StringFlag{Name: "work-path", Value: "", Usage: "path for saving work files and logs"},
		cli.StringFlag{Name: "parent-path", Value: "", Usage: "path for previous criu image files in pre-dump"},
		cli.BoolFlag{Name: "leave-running", Usage: "leave the process running after checkpointing"},
	}, append(criuFlags(),
		cli.IntFlag{Name: "status-fd", Value: -1, Usage: "criu writes \\0 to this FD once lazy-pages is ready (not supported)"},
		cli.StringFlag{Name: "page-server", Value: "", Usage: "ADDRESS:PORT of the page server"},
		cli.BoolFlag{Name: "pre-dump", Usage: "dump container's memory information only, leave the container running after this"},
	)...),
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		shared, err := criuOptions(ctx)
		if err != nil {
			return err
		}
		opts := runtime.CheckpointOptions{
			CRIUOptions:  shared,
			ParentPath:   ctx.String("parent-path"),
			LeaveRunning: ctx.Bool("leave-running"),
			PreDump:      ctx.Bool("pre-dump"),
			PageServer:   ctx.String("page-server"),
			StatusFD:     ctx.Int("status-fd"),
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Checkpoint(opts)
	},
}

// criuFlags returns the criu flags that checkpoint and restore share, with
// runc's names and help.
func criuFlags() []cli.Flag {
	return []cli.Flag{
		cli.BoolFlag{Name: "tcp-established", Usage: "allow open tcp connections"},
		cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		cli.BoolFlag{Name: "shell-job", Usage: "allow shell jobs"},
		cli.BoolFlag{Name: "lazy-pages", Usage: "use userfaultfd to lazily restore memory pages (not supported)"},
		cli.BoolFlag{Name: "file-locks", Usage: "handle file locks, for safety"},
		cli.StringFlag{Name: "manage-cgroups-mode", Value: "", Usage: "cgroups mode: 'soft' (default), 'full' and 'strict'"},
		cli.StringFlag{Name: "empty-ns", Usage: "create a namespace, but don't restore its properties"},
		cli.BoolFlag{Name: "auto-dedup", Usage: "enable auto deduplication of memory images"},
	}
}

// criuOptions reads the flags of criuFlags, with the paths made absolute.
func criuOptions(ctx *cli.Context) (runtime.CRIUOptions, error) {
	imagePath, err := absPath(ctx, "image-path")
	if err != nil {
		return runtime.CRIUOptions{}, err
	}
	workPath, err := absPath(ctx, "work-path")
	if err != nil {
		return runtime.CRIUOptions{}, err
	}
	return runtime.CRIUOptions{
		ImagePath:         imagePath,
		WorkPath:          workPath,
		TCPEstablished:    ctx.Bool("tcp-established"),
		ExtUnixSk:         ctx.Bool("ext-unix-sk"),
		ShellJob:          ctx.Bool("shell-job"),
		LazyPages:         ctx.Bool("lazy-pages"),
		FileLocks:         ctx.Bool("file-locks"),
		ManageCgroupsMode: ctx.String("manage-cgroups-mode"),
		EmptyNS:           ctx.String("empty-ns"),
		AutoDedup:         ctx.Bool("auto-dedup"),
	}, nil
}

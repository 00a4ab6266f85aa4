package main

import (
	"errors"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
)

var deleteCommand = cli.Command{
	Name:  "delete",
	Usage: "delete any resources held by the container often used with detached container",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container.

EXAMPLE:
For example, if the container id is "ubuntu01" and nullrun list currently shows
the status of "ubuntu01" as "stopped" the following will delete resources held
for "ubuntu01" removing "ubuntu01" from the nullrun list of containers:

       # nullrun delete ubuntu01`,
	Flags: []cli.Flag{
		cli.BoolFlag{
			Name:  "force, f",
			Usage: "Forcibly deletes the container if it is still running (uses SIGKILL)",
		},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		force := ctx.Bool("force")

		c, err := loadContainer(ctx)
		if errors.Is(err, runtime.ErrNotExist) && force {
			// Callers such as containerd delete with --force after a failed
			// create and expect success when nothing is left.
			return nil
		}
		if err != nil {
			return err
		}
		return c.Delete(force)
	},
}

package main

import "github.com/urfave/cli"

var startCommand = cli.Command{
	Name:        "start",
	Usage:       "executes the user defined process in a created container",
	ArgsUsage:   containerIDUsage,
	Description: `The start command executes the user defined process in a created container.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Start()
	},
}

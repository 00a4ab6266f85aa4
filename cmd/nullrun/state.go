package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli"
)

var stateCommand = cli.Command{
	Name:  "state",
	Usage: "output the state of a container",
	ArgsUsage: `<container-id>

Where "<container-id>" is your name for the instance of the container.`,
	Description: `The state command outputs current state information for the
instance of a container.`,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		state, err := c.State()
		if err != nil {
			return err
		}

		data, err := json.MarshalIndent(state, "", "  ")
		if err != nil {
			return fmt.Errorf("encode state of container %s: %w", state.ID, err)
		}
		// No trailing newline, byte for byte what runc prints.
		_, err = os.Stdout.Write(data)
		return err
	},
}

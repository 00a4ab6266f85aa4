package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

var eventsCommand = cli.Command{
	Name:  "events",
	Usage: "display container events such as OOM notifications, cpu, memory, and IO usage statistics",
	ArgsUsage: `<container-id>

Where "<container-id>" is the name for the instance of the container.`,
	Description: `The events command prints one JSON object per line: a "stats" event with
the container's resource usage every interval, and an "oom" event when the
kernel's OOM killer kills a process of the container. It exits when the
container stops. With --stats it prints one stats event and exits.`,
	Flags: []cli.Flag{
		cli.DurationFlag{
			Name:  "interval",
			Value: 5 * time.Second,
			Usage: "set the stats collection interval",
		},
		cli.BoolFlag{
			Name:  "stats",
			Usage: "display the container's stats then exit",
		},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, exactArgs); err != nil {
			return err
		}
		interval := ctx.Duration("interval")
		if interval <= 0 {
			return fmt.Errorf("invalid --interval %v: use a duration greater than 0, such as 5s", interval)
		}
		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		state, err := c.State()
		if err != nil {
			return err
		}
		if state.Status == runtime.Stopped {
			return fmt.Errorf("container with id %s is not running", c.ID())
		}

		enc := json.NewEncoder(os.Stdout)
		send := func(e runtime.Event) error {
			if err := enc.Encode(e); err != nil {
				return fmt.Errorf("write %s event: %w", e.Type, err)
			}
			return nil
		}
		if ctx.Bool("stats") {
			stats, err := c.Stats()
			if err != nil {
				return err
			}
			return send(runtime.Event{Type: runtime.EventStats, ID: c.ID(), Data: stats})
		}

		// SIGINT and SIGTERM end the stream with exit status 0.
		sigCtx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
		defer stop()
		return c.Events(sigCtx, interval, send)
	},
}

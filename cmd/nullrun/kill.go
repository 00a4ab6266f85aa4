package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli"
	"golang.org/x/sys/unix"
)

// maxSignal is SIGRTMAX on Linux, the highest signal number kill(2) takes.
const maxSignal = 64

var killCommand = cli.Command{
	Name:  "kill",
	Usage: "kill sends the specified signal (default: SIGTERM) to the container's init process",
	ArgsUsage: `<container-id> [signal]

Where "<container-id>" is the name for the instance of the container and
"[signal]" is the signal to be sent to the init process, as a name with or
without the SIG prefix (KILL, SIGKILL) or as a number (9).

EXAMPLE:
For example, if the container id is "ubuntu01" the following will send a "KILL"
signal to the init process of the "ubuntu01" container:

       # nullrun kill ubuntu01 KILL`,
	Flags: []cli.Flag{
		cli.BoolFlag{
			Name:  "all, a",
			Usage: "send the specified signal to all processes inside the container",
		},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		if err := checkArgs(ctx, 2, maxArgs); err != nil {
			return err
		}

		name := ctx.Args().Get(1)
		if name == "" {
			name = "SIGTERM"
		}
		sig, err := parseSignal(name)
		if err != nil {
			return err
		}

		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		return c.Signal(sig, ctx.Bool("all"))
	},
}

// parseSignal converts a signal number (0 to 64) or a case-insensitive name
// with or without the SIG prefix into a signal. Signal 0 is accepted because
// callers use it to check that the init is alive.
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > maxSignal {
			return 0, fmt.Errorf("invalid signal number %d: use 0 to %d or a name such as TERM", n, maxSignal)
		}
		return unix.Signal(n), nil
	}

	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig := unix.SignalNum(name)
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q: use a name such as TERM or KILL, or a number", s)
	}
	return sig, nil
}

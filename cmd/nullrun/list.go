package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
)

var listCommand = cli.Command{
	Name:  "list",
	Usage: "lists containers started by nullrun with the given root",
	ArgsUsage: `

Where the given root is specified via the global option "--root"
(default: "/run/nullrun").

EXAMPLE 1:
To list containers created via the default "--root":
       # nullrun list

EXAMPLE 2:
To list containers created using a non-default value for "--root":
       # nullrun --root value list`,
	Flags: []cli.Flag{
		cli.StringFlag{
			Name:  "format, f",
			Value: "table",
			Usage: "select one of: table or json",
		},
		cli.BoolFlag{
			Name:  "quiet, q",
			Usage: "display only container IDs",
		},
	},
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 0, exactArgs); err != nil {
			return err
		}
		format := ctx.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("invalid --format %q: use table or json", format)
		}

		rt, err := newRuntime(ctx)
		if err != nil {
			return err
		}
		states, err := rt.List()
		if err != nil {
			return err
		}

		if ctx.Bool("quiet") {
			for _, s := range states {
				fmt.Println(s.ID)
			}
			return nil
		}
		if format == "json" {
			return writeListJSON(os.Stdout, states)
		}
		return writeListTable(os.Stdout, states)
	},
}

// writeListTable writes runc's list table: space-aligned columns, the
// creation time in RFC 3339 with nanoseconds.
func writeListTable(w io.Writer, states []runtime.State) error {
	tw := tabwriter.NewWriter(w, 12, 1, 3, ' ', 0)
	fmt.Fprint(tw, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
	for _, s := range states {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n",
			s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
	}
	return tw.Flush()
}

// writeListJSON writes the states as one JSON array, or null when there are
// none, as runc does.
func writeListJSON(w io.Writer, states []runtime.State) error {
	if len(states) == 0 {
		states = nil
	}
	return json.NewEncoder(w).Encode(states)
}

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli"
)

var psCommand = cli.Command{
	Name:  "ps",
	Usage: "ps displays the processes running inside a container",
	ArgsUsage: `<container-id> [ps options]

Where "<container-id>" is the name for the instance of the container and
"[ps options]" are passed to ps(1) in place of the default "-ef". The table
format keeps the header line and the lines whose PID column names a process
of the container.`,
	Flags: []cli.Flag{
		cli.StringFlag{
			Name:  "format, f",
			Value: "table",
			Usage: "select one of: table or json",
		},
	},
	// Everything after the container ID belongs to ps(1), even when it
	// looks like one of this command's flags.
	SkipArgReorder: true,
	Action: func(ctx *cli.Context) error {
		if err := checkArgs(ctx, 1, minArgs); err != nil {
			return err
		}
		format := ctx.String("format")
		if format != "table" && format != "json" {
			return fmt.Errorf("invalid --format %q: use table or json", format)
		}

		c, err := loadContainer(ctx)
		if err != nil {
			return err
		}
		pids, err := c.Processes()
		if err != nil {
			return err
		}
		if format == "json" {
			// runc prints null, not [], for a container without processes.
			return json.NewEncoder(os.Stdout).Encode(pids)
		}

		psArgs := []string(ctx.Args()[1:])
		if len(psArgs) == 0 {
			psArgs = []string{"-ef"}
		}
		output, err := exec.Command("ps", psArgs...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("run ps %s: %w: %s", strings.Join(psArgs, " "), err, output)
		}
		lines, err := filterPsOutput(string(output), pids)
		if err != nil {
			return err
		}
		for _, line := range lines {
			fmt.Println(line)
		}
		return nil
	},
}

// filterPsOutput returns the header line of ps output and the lines whose
// PID column holds one of pids.
func filterPsOutput(output string, pids []int) ([]string, error) {
	lines := strings.Split(output, "\n")
	column := slices.Index(strings.Fields(lines[0]), "PID")
	if column < 0 {
		return nil, errors.New("parse ps output: the header has no PID column; " +
			"pass ps options that print one, such as -ef or -o pid,comm")
	}

	matched := []string{lines[0]}
	for _, line := range lines[1:] {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if column >= len(fields) {
			return nil, fmt.Errorf("parse ps output: line %q has no PID column", line)
		}
		pid, err := strconv.Atoi(fields[column])
		if err != nil {
			return nil, fmt.Errorf("parse ps output: PID %q in line %q: %w", fields[column], line, err)
		}
		if slices.Contains(pids, pid) {
			matched = append(matched, line)
		}
	}
	return matched, nil
}

package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/nullrun/nullrun/runtime"
	"github.com/urfave/cli"
)

// initCommand is the container init's entry point. main calls runInit
// directly when init is the first argument, and this command makes
// `nullrun [global options] init` reach the same place.
var initCommand = cli.Command{
	Name:   "init",
	Usage:  "initialize the namespaces and launch the process (do not call it outside of nullrun)",
	Hidden: true,
	Action: func(*cli.Context) error {
		runInit()
		return nil
	},
}

// runInit runs the container init, which execs the container process and
// returns only on error. It prints that error to stderr and exits 1.
func runInit() {
	err := runtime.Init()
	if err == nil {
		err = errors.New("run container init: returned without executing the container process")
	}
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

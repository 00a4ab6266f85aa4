package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli"
)

// setupLogging applies --debug, --log-format and --log to logrus's standard
// logger, and checks --rootless. containerd and conmon read the last
// {"level":"error","msg":...} line of the --log file, so errors must go
// through this logger.
func setupLogging(ctx *cli.Context) error {
	if ctx.GlobalBool("debug") {
		logrus.SetLevel(logrus.DebugLevel)
	}

	switch format := ctx.GlobalString("log-format"); format {
	case "", "text":
		// logrus's default text formatter.
	case "json":
		logrus.SetFormatter(new(logrus.JSONFormatter))
	default:
		return fmt.Errorf("invalid --log-format %q: use text or json", format)
	}

	if path := ctx.GlobalString("log"); path != "" {
		// O_APPEND because the caller keeps one log file across commands.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return fmt.Errorf("open log file: %w", err)
		}
		logrus.SetOutput(f)
	}

	return checkRootless(ctx.GlobalString("rootless"))
}

// checkRootless accepts the values runc accepts for --rootless: auto, or
// anything strconv.ParseBool takes. The runtime detects rootless mode itself,
// so the value is only validated.
func checkRootless(value string) error {
	if value == "" || strings.EqualFold(value, "auto") {
		return nil
	}
	if _, err := strconv.ParseBool(value); err != nil {
		return fmt.Errorf("invalid --rootless value %q: use auto, true or false", value)
	}
	return nil
}

// fatal reports err as described at reportError and exits with status 1.
func fatal(err error) {
	reportError(logrus.StandardLogger(), os.Stderr, err)
	os.Exit(1)
}

// reportError logs err at error level and prints it to stderr as one plain
// line, so both the --log reader and a person at the terminal see it.
// A text-format logger that writes to stderr itself is skipped: its line
// would quote and escape the message, which names values in quotes.
func reportError(logger *logrus.Logger, stderr *os.File, err error) {
	toStderr := writesTo(logger, stderr)
	if !toStderr || !isText(logger) {
		logger.Error(err)
	}
	if !toStderr || isText(logger) {
		fmt.Fprintln(stderr, err)
	}
}

func isText(logger *logrus.Logger) bool {
	_, ok := logger.Formatter.(*logrus.TextFormatter)
	return ok
}

// writesTo reports whether logger's output is the file f.
func writesTo(logger *logrus.Logger, f *os.File) bool {
	out, ok := logger.Out.(*os.File)
	return ok && out.Fd() == f.Fd()
}

// fatalWriter replaces cli.ErrWriter so the usage errors urfave/cli prints
// itself ("No help topic for ...", flag errors) also reach the log.
type fatalWriter struct {
	next io.Writer
}

func (w *fatalWriter) Write(p []byte) (int, error) {
	logrus.Error(strings.TrimRight(string(p), "\n"))
	if writesTo(logrus.StandardLogger(), os.Stderr) {
		return len(p), nil
	}
	return w.next.Write(p)
}

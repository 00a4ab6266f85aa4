package linux

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CRIUBinary is the name of the CRIU program looked up in PATH. Tests point
// CRIU at another binary through the NULLRUN_CRIU environment variable.
const CRIUBinary = "criu"

// ErrCRIUUnavailable is wrapped by every error that says CRIU cannot
// checkpoint or restore on this machine; compare with errors.Is.
var ErrCRIUUnavailable = errors.New("criu is not usable on this machine")

// CRIUCheckError is what `criu check` reported when it did not print
// "Looks good.": the binary, its version and the "Error" lines of its
// output, which name the kernel feature CRIU could not use.
type CRIUCheckError struct {
	// Binary is the path of the criu program that ran.
	Binary string
	// Version is the "Version:" line of `criu --version`, empty when it
	// failed too.
	Version string
	// Problems are the lines of `criu check` output that start with
	// "Error" or "Warn", or its whole output when it has none of them.
	Problems []string
	// Err is how the check ended: an exit status, or a failure to run.
	Err error
}

func (e *CRIUCheckError) Error() string {
	version := e.Version
	if version == "" {
		version = "unknown version"
	}
	msg := fmt.Sprintf("%s check (%s %s) failed: %v", e.Binary, CRIUBinary, version, e.Err)
	if len(e.Problems) > 0 {
		msg += ": " + strings.Join(e.Problems, "; ")
	}
	return msg + "; checkpoint and restore need a criu whose `criu check` prints " +
		"\"Looks good.\" on this kernel: install a newer criu or set NULLRUN_CRIU to one"
}

// Unwrap makes the error match ErrCRIUUnavailable.
func (e *CRIUCheckError) Unwrap() []error { return []error{ErrCRIUUnavailable, e.Err} }

// LookCRIU returns the absolute path of the criu program: $NULLRUN_CRIU when
// set, else criu in PATH or in /usr/sbin and /sbin, which PATH of a
// non-login shell often lacks.
func LookCRIU() (string, error) {
	if path := os.Getenv("NULLRUN_CRIU"); path != "" {
		return exec.LookPath(path)
	}
	if path, err := exec.LookPath(CRIUBinary); err == nil {
		return path, nil
	}
	for _, dir := range []string{"/usr/local/sbin", "/usr/sbin", "/sbin"} {
		path := filepath.Join(dir, CRIUBinary)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("find %s: not in PATH, /usr/sbin or /sbin: install criu "+
		"(Debian: apt-get install criu) or set NULLRUN_CRIU: %w", CRIUBinary, ErrCRIUUnavailable)
}

// CRIUCheck runs `criu check` now, never from a cache, because the answer
// depends on the kernel and on the criu installed at the time of the call.
// It returns the criu path, or a *CRIUCheckError when criu reports a
// missing feature.
func CRIUCheck() (string, error) {
	path, err := LookCRIU()
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, "check").CombinedOutput()
	if err == nil && bytes.Contains(out, []byte("Looks good")) {
		return path, nil
	}
	if err == nil {
		err = errors.New(`no "Looks good." in its output`)
	}
	return "", &CRIUCheckError{
		Binary: path, Version: CRIUVersion(path), Problems: criuProblems(out), Err: err,
	}
}

// CRIUVersion returns the version that `criu --version` prints, such as
// "3.17.1", or "" when it fails.
func CRIUVersion(path string) string {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// criuProblems keeps the "Error (file:line): …" and "Warn …" lines of CRIU
// output or log, without repeats, since they carry the reason. It returns
// every line when there are none of them.
func criuProblems(out []byte) []string {
	var problems, all []string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || seen[line] {
			continue
		}
		seen[line] = true
		all = append(all, line)
		// Log files put a "(00.012620) " timestamp before the level.
		text := line
		if strings.HasPrefix(text, "(") {
			if _, rest, ok := strings.Cut(text, ") "); ok {
				text = rest
			}
		}
		if strings.HasPrefix(text, "Error") || strings.HasPrefix(text, "Warn") {
			problems = append(problems, line)
		}
	}
	if len(problems) == 0 {
		return all
	}
	return problems
}

// CRIUCommand is one run of criu dump, pre-dump or restore.
type CRIUCommand struct {
	// Path is the criu program, as CRIUCheck returned it.
	Path string
	// Args are the action and its options, such as "dump", "--tree", "42".
	Args []string
	// LogFile is the log that criu writes with -o; errors quote its last
	// "Error" lines.
	LogFile string
	// ExtraFiles become the child's fds 3, 4, …, for --inherit-fd.
	ExtraFiles []*os.File
	// Stdin, Stdout and Stderr are passed on (nil means /dev/null).
	Stdin          *os.File
	Stdout, Stderr *os.File
}

// Run runs criu and waits for it. A failure quotes the "Error" lines of
// the log so the caller need not open it.
func (c *CRIUCommand) Run() error {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.ExtraFiles = c.ExtraFiles
	if c.Stdin != nil {
		cmd.Stdin = c.Stdin
	}
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if c.Stderr != nil {
		cmd.Stderr = c.Stderr
	}
	err := cmd.Run()
	if err == nil {
		return nil
	}
	action := "criu"
	if len(c.Args) > 0 {
		action = "criu " + c.Args[0]
	}
	log, _ := os.ReadFile(c.LogFile)
	problems := criuProblems(append(log, stderr.Bytes()...))
	if len(problems) > 8 {
		problems = problems[len(problems)-8:]
	}
	return fmt.Errorf("run %s: %w: %s (full log: %s)",
		action, err, strings.Join(problems, "; "), c.LogFile)
}

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// validationModule is the OCI runtime validation suite. Each directory
	// validation/<name> is one program that drives $RUNTIME through its CLI
	// and prints TAP. cmd/runtimetest is the checker copied into bundles.
	validationModule = "github.com/opencontainers/runtime-tools"

	// validationVersion is the newest commit of runtime-tools (2025-12-04).
	// The newest tag, v0.9.0 from 2019, predates runtime-spec v1.3.0, which
	// this commit requires and nullrun implements.
	validationVersion = "v0.9.1-0.20251205004911-5e639034dcdc"

	// validationExecTimeout bounds one validation program. Under runc 1.1.5
	// the slowest program (delete) takes about 14 s because the suite polls
	// state once a second, so this only catches a hung runtime.
	validationExecTimeout = 60 * time.Second

	// validationCleanupTimeout bounds one `delete --force` of a container
	// that a validation program left behind.
	validationCleanupTimeout = 30 * time.Second

	// validationExpectedFile lists the programs that nullrun passes and the
	// minimum pass count.
	validationExpectedFile = "testdata/validation/expected.txt"
)

// validationSuiteCgroups are the cgroup paths the suite's programs put in
// linux.cgroupsPath (runtime-tools cgroups.AbsCgroupPath and RelCgroupPath).
// Runtimes remove only the leaf, so the parents are left behind and removed
// here, innermost first.
var validationSuiteCgroups = []string{
	"testdir/cgrouptest/container",
	"testdir/cgrouptest",
	"testdir",
	"cgrouptest",
}

// validationOutcome is the result of one validation program.
type validationOutcome struct {
	name     string
	pass     bool
	reason   string // the cause of a failure, empty on a pass
	tap      tapSummary
	duration time.Duration
}

// tapSummary counts the test points of a program's output, which can hold
// several TAP documents: some programs print one per group of checks.
type tapSummary struct {
	documents int
	points    int
	failed    int
	skipped   int
	bailOut   bool
	// noPlan is set when a document printed no "1..N" plan.
	noPlan bool
	// planMismatch describes the first document whose point count differs
	// from its plan.
	planMismatch string
	// emptyWithError is set when a document has no test points but an
	// "error" diagnostic. The hook programs report every failure that way
	// and print "1..0" alone when the runtime behaved.
	emptyWithError bool
	// firstFailure is the description of the first "not ok" point.
	firstFailure string
	// firstError is the first "error" value in a YAML diagnostic, which is
	// where the suite reports a failed runtime command.
	firstError string
}

// TestOCIValidation runs every program of the OCI runtime validation suite
// against the runtime under test and compares the passes with
// testdata/validation/expected.txt. Each program is a subtest, so
// `-run OCIValidation/kill` runs one. The pass count is checked only when all
// of them ran.
func TestOCIValidation(t *testing.T) {
	requireRoot(t)
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skipf("needs tar, which the validation programs use to unpack the rootfs: %v", err)
	}
	binDir, names := buildValidationSuite(t)
	expected := readValidationExpected(t, names)

	work := makeValidationWorkDir(t)
	prepareValidationWorkDir(t, work, binDir)
	stateDir := filepath.Join(work, "state")
	bundleTmp := filepath.Join(work, "tmp")
	wrapper := writeRuntimeWrapper(t, work, stateDir)
	outDir := t.ArtifactDir()

	removeSuiteCgroups(t)
	t.Cleanup(func() {
		cleanValidationLeftovers(t, stateDir, bundleTmp)
		removeSuiteCgroups(t)
	})

	var outcomes []validationOutcome
	started := time.Now()
	for _, name := range names {
		if deadline, ok := t.Deadline(); ok && time.Until(deadline) < 2*validationExecTimeout {
			t.Errorf("stopped before %s because the test deadline is near: raise go test -timeout", name)
			break
		}
		t.Run(name, func(t *testing.T) {
			outcome := runValidationProgram(t, validationRun{
				program:   filepath.Join(binDir, name),
				name:      name,
				workDir:   work,
				bundleTmp: bundleTmp,
				runtime:   wrapper,
				outDir:    outDir,
			})
			cleanValidationLeftovers(t, stateDir, bundleTmp)
			removeSuiteCgroups(t)
			outcomes = append(outcomes, outcome)
			reportValidationOutcome(t, outcome, expected)
		})
	}
	t.Logf("ran %d validation programs in %s", len(outcomes), time.Since(started).Round(time.Second))
	if len(outcomes) < len(names) {
		return
	}
	summarizeValidation(t, outcomes, expected)
}

// reportValidationOutcome logs one program's result and fails the subtest
// when the program is expected to pass under nullrun and did not.
func reportValidationOutcome(t *testing.T, outcome validationOutcome, expected validationExpected) {
	t.Helper()
	if outcome.pass {
		t.Logf("pass in %s: %d test points, %d skipped",
			outcome.duration.Round(time.Millisecond), outcome.tap.points, outcome.tap.skipped)
		return
	}
	if expected.enforced && expected.pass[outcome.name] {
		t.Errorf("regression: %s passed before (listed in %s), now: %s",
			outcome.name, validationExpectedFile, outcome.reason)
		return
	}
	t.Logf("fail: %s", outcome.reason)
}

// summarizeValidation prints the pass count and the failures, and checks
// the count against the floor in the expected file.
func summarizeValidation(t *testing.T, outcomes []validationOutcome, expected validationExpected) {
	t.Helper()
	passed := 0
	var failures, newPasses []string
	for _, o := range outcomes {
		if o.pass {
			passed++
			if !expected.pass[o.name] {
				newPasses = append(newPasses, o.name)
			}
			continue
		}
		failures = append(failures, fmt.Sprintf("  %s: %s", o.name, o.reason))
	}

	summary := fmt.Sprintf("OCI validation: %d of %d executables pass (%s, runtime-tools %s)",
		passed, len(outcomes), runtimeName(), validationVersion)
	t.Log(summary)
	fmt.Println(summary)
	// go test shows a passing package's output only with -v; a file named
	// by NULLRUN_TEST_SUMMARY collects the count for the caller to print.
	if path := os.Getenv("NULLRUN_TEST_SUMMARY"); path != "" {
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintln(f, summary)
			f.Close()
		}
	}
	if len(failures) > 0 {
		list := "failing executables:\n" + strings.Join(failures, "\n")
		t.Log(list)
		fmt.Println(list)
	}
	if len(newPasses) > 0 {
		msg := fmt.Sprintf("passing but not listed in %s, add them: %s",
			validationExpectedFile, strings.Join(newPasses, " "))
		t.Log(msg)
		fmt.Println(msg)
	}

	if !expected.enforced {
		t.Logf("%s records nullrun's results, so %s is compared for information only",
			validationExpectedFile, runtimeName())
		return
	}
	if passed < expected.floor {
		t.Errorf("got %d passing validation executables, want at least %d (the floor in %s)",
			passed, expected.floor, validationExpectedFile)
	}
}

// validationExpected is the content of the expected file.
type validationExpected struct {
	floor int
	pass  map[string]bool
	// enforced is false when the runtime under test is not nullrun,
	// because the file records nullrun's results.
	enforced bool
}

// readValidationExpected parses the expected file: "floor N" and one
// program name per line, with # comments. A name that is not a program of
// the pinned suite fails the test, so the list cannot go stale silently.
func readValidationExpected(t *testing.T, names []string) validationExpected {
	t.Helper()
	data, err := os.ReadFile(validationExpectedFile)
	if err != nil {
		t.Fatalf("read expected validation results: %v", err)
	}
	expected := validationExpected{
		floor:    -1,
		pass:     map[string]bool{},
		enforced: runtimeName() == "nullrun",
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; scanner.Scan(); line++ {
		text, _, _ := strings.Cut(scanner.Text(), "#")
		fields := strings.Fields(text)
		switch {
		case len(fields) == 0:
		case fields[0] == "floor" && len(fields) == 2:
			n, err := strconv.Atoi(fields[1])
			if err != nil || n < 0 {
				t.Fatalf("%s:%d: invalid floor %q, want a count", validationExpectedFile, line, fields[1])
			}
			expected.floor = n
		case len(fields) == 1 && slices.Contains(names, fields[0]):
			expected.pass[fields[0]] = true
		default:
			t.Fatalf("%s:%d: %q is neither \"floor N\" nor a validation program of runtime-tools %s",
				validationExpectedFile, line, scanner.Text(), validationVersion)
		}
	}
	if expected.floor < 0 {
		t.Fatalf("%s has no \"floor N\" line", validationExpectedFile)
	}
	return expected
}

// validationCacheDir returns the directory that keeps built validation
// programs between runs: $NULLRUN_CACHE, else nullrun under the user cache
// directory.
func validationCacheDir() (string, error) {
	if dir := os.Getenv("NULLRUN_CACHE"); dir != "" {
		return dir, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory (set NULLRUN_CACHE to choose one): %w", err)
	}
	return filepath.Join(dir, "nullrun"), nil
}

// buildValidationSuite returns the directory holding the validation
// programs and runtimetest built from the pinned module version, building
// them on the first run, and the program names in the order they run.
// It skips t when the module cannot be fetched.
func buildValidationSuite(t *testing.T) (string, []string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("needs the go command to build the validation suite: %v", err)
	}
	cache, err := validationCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	versionDir := filepath.Join(cache, "runtime-tools", validationVersion)
	if err := os.MkdirAll(versionDir, 0o755); err != nil {
		t.Fatalf("create cache directory: %v", err)
	}

	moduleDir := downloadValidationModule(t, goBin, versionDir)
	names := validationProgramNames(t, moduleDir)
	binDir := filepath.Join(versionDir, "bin")
	if validationBinariesPresent(binDir, names) {
		return binDir, names
	}

	// Build into a fresh directory and rename it into place, so an
	// interrupted build never leaves a partial bin directory behind.
	tmp, err := os.MkdirTemp(versionDir, "build-")
	if err != nil {
		t.Fatalf("create build directory: %v", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"install", validationModule + "/validation/...@" + validationVersion,
		validationModule + "/cmd/runtimetest@" + validationVersion}
	cmd := exec.Command(goBin, args...)
	cmd.Dir = versionDir
	// runtimetest runs inside busybox bundles without a libc, so the
	// programs are built without cgo, as the suite's Makefile builds it
	// static.
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "CGO_ENABLED=0", "GOWORK=off")
	started := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the validation suite with go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	_ = os.RemoveAll(binDir)
	if err := os.Rename(tmp, binDir); err != nil {
		t.Fatalf("move the built validation suite into the cache: %v", err)
	}
	t.Logf("built %d validation programs and runtimetest into %s in %s",
		len(names), binDir, time.Since(started).Round(time.Second))
	return binDir, names
}

// downloadValidationModule fetches the pinned module through the go
// command and returns its source directory. It skips t when the module
// cannot be fetched, because that is a property of the network, not of
// nullrun.
func downloadValidationModule(t *testing.T, goBin, dir string) string {
	t.Helper()
	cmd := exec.Command(goBin, "mod", "download", "-json", validationModule+"@"+validationVersion)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out, &info); err != nil && runErr == nil {
		t.Fatalf("parse go mod download output: %v\n%s", err, out)
	}
	if runErr != nil || info.Error != "" || info.Dir == "" {
		t.Skipf("fetch %s@%s through the Go module proxy (check GOPROXY and the network): %v %s %s",
			validationModule, validationVersion, runErr, info.Error, strings.TrimSpace(stderr.String()))
	}
	return info.Dir
}

// validationProgramNames lists validation/<name>/<name>.go in the module
// source, which is how the suite's Makefile finds its programs.
func validationProgramNames(t *testing.T, moduleDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(moduleDir, "validation"))
	if err != nil {
		t.Fatalf("list validation programs: %v", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "util" {
			continue
		}
		if _, err := os.Stat(filepath.Join(moduleDir, "validation", e.Name(), e.Name()+".go")); err == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatalf("found no validation programs under %s/validation", moduleDir)
	}
	return names
}

// validationBinariesPresent reports whether binDir holds runtimetest and
// one executable per program name.
func validationBinariesPresent(binDir string, names []string) bool {
	for _, name := range append([]string{"runtimetest"}, names...) {
		info, err := os.Stat(filepath.Join(binDir, name))
		if err != nil || !info.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// makeValidationWorkDir creates the directory the validation programs run
// in and put their bundles under. Unlike t.TempDir it is world-searchable,
// because containers with a user namespace (linux_uid_mappings) must reach
// their bundle as an unmapped uid.
func makeValidationWorkDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "nullrun-validation-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove validation work directory: %v", err)
		}
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// prepareValidationWorkDir fills dir with what the validation programs read
// from their working directory: rootfs-<GOARCH>.tar.gz, which each program
// unpacks as its bundle (the suite's config uses root.path "."), and
// runtimetest, which each program copies into the bundle. The tarball is a
// busybox-static rootfs like the one the suite ships in its repository.
func prepareValidationWorkDir(t *testing.T, dir, binDir string) {
	t.Helper()
	rootfs := filepath.Join(dir, "rootfs")
	makeRootfs(t, rootfs)
	tarball := filepath.Join(dir, "rootfs-"+goruntime.GOARCH+".tar.gz")
	tar := exec.Command("tar", "--numeric-owner", "--owner=0", "--group=0",
		"-czf", tarball, "-C", rootfs, ".")
	if out, err := tar.CombinedOutput(); err != nil {
		t.Fatalf("pack the validation rootfs: %v\n%s", err, out)
	}
	if err := os.RemoveAll(rootfs); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(filepath.Join(binDir, "runtimetest"))
	if err != nil {
		t.Fatalf("read runtimetest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runtimetest"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"state", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// writeRuntimeWrapper writes the program that RUNTIME names: the runtime
// under test with --root pointing at stateDir. The suite passes no --root,
// so without the wrapper its containers would land in the runtime's
// default state directory beside the host's containers, and leftovers
// could not be found and removed.
func writeRuntimeWrapper(t *testing.T, dir, stateDir string) string {
	t.Helper()
	path := filepath.Join(dir, "runtime")
	script := fmt.Sprintf("#!/bin/sh\nexec %s --root %s \"$@\"\n",
		shellQuote(runtimeBin), shellQuote(stateDir))
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// validationRun is one invocation of a validation program.
type validationRun struct {
	program   string
	name      string
	workDir   string // holds the rootfs tarball and runtimetest
	bundleTmp string // TMPDIR, where the program creates its bundles
	runtime   string // the value of RUNTIME
	outDir    string // where the TAP output and stderr are kept
}

// runValidationProgram runs one program and judges its TAP output.
func runValidationProgram(t *testing.T, run validationRun) validationOutcome {
	t.Helper()
	stdoutPath := filepath.Join(run.outDir, run.name+".tap")
	stderrPath := filepath.Join(run.outDir, run.name+".stderr")
	stdout, err := os.Create(stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()

	ctx, cancel := context.WithTimeout(context.Background(), validationExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, run.program)
	cmd.Dir = run.workDir
	cmd.Env = append(os.Environ(), "RUNTIME="+run.runtime, "TMPDIR="+run.bundleTmp)
	// Files, not pipes, take the output: a container or hook that inherits
	// them and outlives the program cannot block Wait.
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// The program runs in its own process group so a timeout kills the
	// runtime commands it started too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	started := time.Now()
	runErr := cmd.Run()
	outcome := validationOutcome{name: run.name, duration: time.Since(started)}

	tapData, err := os.ReadFile(stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	errData, err := os.ReadFile(stderrPath)
	if err != nil {
		t.Fatal(err)
	}
	outcome.tap = parseTAP(tapData)
	outcome.reason = validationFailureReason(ctx, runErr, outcome.tap, errData)
	outcome.pass = outcome.reason == ""
	if !outcome.pass {
		t.Logf("TAP output in %s, stderr in %s", stdoutPath, stderrPath)
	}
	return outcome
}

// suiteCreateFailed is what the suite writes to stderr when the runtime's
// create command fails.
const suiteCreateFailed = "failed to create the container"

// validationFailureReason returns why a program failed, or "" when it
// passed. A program passes when it exits 0 and every TAP document in its
// output has a plan that matches its points, no "not ok" point and, when
// it has no points at all, no "error" diagnostic. A program that exits 0
// without any TAP passes only when the runtime's create failed, because
// the programs that expect create to fail report success that way.
func validationFailureReason(ctx context.Context, runErr error, tap tapSummary, stderr []byte) string {
	// A program that exits early explains why on stderr; one that keeps
	// going reports a failed runtime command in an "error" diagnostic.
	stderrDetail, tapDetail := lastLines(stderr, 2), tap.firstError
	if stderrDetail == "" {
		stderrDetail = tapDetail
	}
	if tapDetail == "" {
		tapDetail = stderrDetail
	}
	withDetail := func(s, detail string) string {
		if detail == "" {
			return s
		}
		return s + ": " + detail
	}

	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return withDetail(fmt.Sprintf("timed out after %s", validationExecTimeout), stderrDetail)
	case runErr != nil:
		return withDetail(fmt.Sprintf("exited with %v", runErr), stderrDetail)
	case tap.bailOut:
		return withDetail("bailed out", tapDetail)
	case tap.documents == 0 && bytes.Contains(stderr, []byte(suiteCreateFailed)):
		// process_capabilities_fail and process_rlimits_fail expect
		// create to fail and then exit 0 without printing TAP.
		return ""
	case tap.documents == 0 || tap.noPlan:
		return withDetail("printed no TAP plan", stderrDetail)
	case tap.failed > 0:
		return fmt.Sprintf("%d of %d checks failed, first: %s", tap.failed, tap.points, tap.firstFailure)
	case tap.emptyWithError:
		return withDetail("reported an error without checks (plan 1..0)", tapDetail)
	case tap.planMismatch != "":
		return withDetail(tap.planMismatch, tapDetail)
	}
	return ""
}

// lastLines returns the last n non-empty lines of data joined by " | ".
func lastLines(data []byte, n int) string {
	var lines []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// parseTAP counts the test points of the TAP version 13 documents that
// the validation programs print (github.com/mndrix/tap-go): a "TAP version"
// header, "ok N - text" and "not ok N - text" points with "# SKIP" and
// "# TODO" directives, a "1..N" plan before or after the points, and YAML
// diagnostics indented below a point.
func parseTAP(data []byte) tapSummary {
	var summary tapSummary
	var doc struct {
		started  bool
		plan     int // -1 until a plan line is read
		points   int
		hasError bool
	}
	finish := func() {
		if !doc.started {
			return
		}
		summary.documents++
		switch {
		case doc.plan < 0:
			summary.noPlan = true
		case doc.plan != doc.points && summary.planMismatch == "":
			summary.planMismatch = fmt.Sprintf("printed %d checks, plan says %d", doc.points, doc.plan)
		}
		if doc.points == 0 && doc.hasError {
			summary.emptyWithError = true
		}
	}
	begin := func() {
		doc.started, doc.plan, doc.points, doc.hasError = true, -1, 0, false
	}

	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if strings.HasPrefix(line, "TAP version") {
			finish()
			begin()
			continue
		}
		if !doc.started && strings.TrimSpace(line) != "" {
			begin()
		}
		switch {
		case strings.HasPrefix(line, "1.."):
			count, _, _ := strings.Cut(strings.TrimPrefix(line, "1.."), " ")
			if n, err := strconv.Atoi(count); err == nil {
				doc.plan = n
			}
		case strings.HasPrefix(line, "Bail out!"):
			summary.bailOut = true
		case line == "ok" || strings.HasPrefix(line, "ok "):
			doc.points++
			summary.points++
			if directive(line) == "skip" {
				summary.skipped++
			}
		case line == "not ok" || strings.HasPrefix(line, "not ok "):
			doc.points++
			summary.points++
			if directive(line) == "todo" {
				continue
			}
			summary.failed++
			if summary.firstFailure == "" {
				summary.firstFailure = testPointText(line)
			}
		default:
			value, ok := strings.CutPrefix(strings.TrimSpace(line), `"error": `)
			if !ok {
				continue
			}
			doc.hasError = true
			if summary.firstError == "" {
				summary.firstError = yamlErrorText(value)
			}
		}
	}
	finish()
	return summary
}

// directive returns "skip" or "todo" when a test point line carries that
// TAP directive, and "" otherwise.
func directive(line string) string {
	_, after, ok := strings.Cut(line, " # ")
	if !ok {
		return ""
	}
	word := strings.ToLower(strings.Fields(after + " ")[0])
	switch {
	case strings.HasPrefix(word, "skip"):
		return "skip"
	case strings.HasPrefix(word, "todo"):
		return "todo"
	}
	return ""
}

// testPointText returns the description of a test point line, without the
// status and number.
func testPointText(line string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(line, "not ok"), "ok")
	rest = strings.TrimLeft(rest, " 0123456789")
	return strings.TrimPrefix(rest, "- ")
}

// yamlErrorText turns the JSON string value of an "error" diagnostic into
// its first line, which holds the message; the rest is a spec reference.
func yamlErrorText(value string) string {
	value = strings.TrimSuffix(strings.TrimSpace(value), ",")
	var text string
	if err := json.Unmarshal([]byte(value), &text); err != nil {
		text = value
	}
	first, _, _ := strings.Cut(text, "\n")
	return strings.TrimSpace(first)
}

// cleanValidationLeftovers force-deletes containers left in stateDir and
// unmounts and removes bundles left in bundleTmp. The suite deletes its
// containers itself, so anything found here comes from a program that
// timed out or a runtime whose delete failed, and is logged.
func cleanValidationLeftovers(t testing.TB, stateDir, bundleTmp string) {
	t.Helper()
	entries, err := os.ReadDir(stateDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("list leftover containers: %v", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Logf("deleting leftover container %s", e.Name())
		ctx, cancel := context.WithTimeout(context.Background(), validationCleanupTimeout)
		out, err := exec.CommandContext(ctx, runtimeBin, "--root", stateDir,
			"delete", "--force", e.Name()).CombinedOutput()
		cancel()
		if err != nil {
			t.Logf("delete leftover container %s: %v: %s", e.Name(), err, bytes.TrimSpace(out))
		}
	}

	// A program testing rootfsPropagation can leave the bundle's mounts
	// on the host: runc 1.1.5 does so for "shared". They must go before
	// the bundles are removed, or the removal would walk into /proc and
	// /sys.
	for _, point := range mountPointsUnder(t, bundleTmp) {
		t.Logf("unmounting leftover mount %s", point)
		if err := unix.Unmount(point, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount leftover mount %s: %v", point, err)
		}
	}
	if points := mountPointsUnder(t, bundleTmp); len(points) > 0 {
		t.Errorf("mounts %q are still under %s, so the bundles are kept", points, bundleTmp)
		return
	}
	bundles, err := os.ReadDir(bundleTmp)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("list leftover bundles: %v", err)
	}
	for _, e := range bundles {
		if err := os.RemoveAll(filepath.Join(bundleTmp, e.Name())); err != nil {
			t.Errorf("remove leftover bundle: %v", err)
		}
	}
}

// removeSuiteCgroups removes the empty cgroups named in
// validationSuiteCgroups from every hierarchy, both at the hierarchy root
// (where absolute cgroupsPath values land) and below this process's own
// cgroup (where relative ones land). rmdir only removes an empty cgroup
// without processes, so a cgroup still in use is kept and logged.
func removeSuiteCgroups(t testing.TB) {
	t.Helper()
	own := ownCgroupPaths(t)
	for _, hierarchy := range cgroupMountPoints(t) {
		bases := []string{hierarchy}
		if rel, ok := own[filepath.Base(hierarchy)]; ok && rel != "/" {
			bases = append(bases, filepath.Join(hierarchy, rel))
		}
		for _, base := range bases {
			for _, rel := range validationSuiteCgroups {
				path := filepath.Join(base, rel)
				err := unix.Rmdir(path)
				if err != nil && !errors.Is(err, unix.ENOENT) {
					t.Logf("remove cgroup %s left by the suite: %v", path, err)
				}
			}
		}
	}
}

// ownCgroupPaths maps each hierarchy name as it appears under
// /sys/fs/cgroup ("memory", "cpu,cpuacct", "systemd", "unified") to this
// process's cgroup path in it, from /proc/self/cgroup.
func ownCgroupPaths(t testing.TB) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Errorf("read own cgroups: %v", err)
		return nil
	}
	paths := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// Each line is "hierarchy-ID:controller-list:path".
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		controllers := parts[1]
		switch {
		case controllers == "":
			controllers = "unified"
		case strings.HasPrefix(controllers, "name="):
			controllers = strings.TrimPrefix(controllers, "name=")
		}
		paths[controllers] = parts[2]
		for _, c := range strings.Split(controllers, ",") {
			paths[c] = parts[2]
		}
	}
	return paths
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Values stamped into the test binary to check that -ldflags -X works.
const (
	testVersion = "9.8.7-test"
	testCommit  = "0123abcd"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary that nullrunBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// nullrunBinary builds this command once per test run and returns its path.
func nullrunBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nullrun-cli-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "nullrun")
		ldflags := "-X main.version=" + testVersion + " -X main.gitCommit=" + testCommit
		out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type result struct {
	stdout, stderr string
	code           int
}

// runNullrun runs the test binary with args and returns its output and exit
// status.
func runNullrun(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(nullrunBinary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("run nullrun %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

func TestVersionOutput(t *testing.T) {
	want := "nullrun version " + testVersion + "\ncommit: " + testCommit + "\nspec: 1.3.0\n"
	for _, flag := range []string{"--version", "-v"} {
		r := runNullrun(t, flag)
		if r.code != 0 {
			t.Errorf("%s exit status = %d, want 0 (stderr %q)", flag, r.code, r.stderr)
		}
		if r.stdout != want {
			t.Errorf("%s output = %q, want %q", flag, r.stdout, want)
		}
	}
}

func TestSpecWritesDefault(t *testing.T) {
	bundle := t.TempDir()
	r := runNullrun(t, "spec", "--bundle", bundle)
	if r.code != 0 {
		t.Fatalf("spec exit status = %d, want 0 (stderr %q)", r.code, r.stderr)
	}

	got, err := os.ReadFile(filepath.Join(bundle, specConfig))
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(defaultSpec(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("config.json =\n%s\nwant\n%s", got, want)
	}
}

func TestSpecRefusesOverwrite(t *testing.T) {
	bundle := t.TempDir()
	path := filepath.Join(bundle, specConfig)
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := runNullrun(t, "spec", "-b="+bundle)
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	if want := "File config.json exists. Remove it first"; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}
	if got, _ := os.ReadFile(path); string(got) != "{}" {
		t.Errorf("config.json = %q after refusal, want it unchanged", got)
	}
}

func TestArgumentCountError(t *testing.T) {
	r := runNullrun(t, "create")
	// With no --log, stderr carries the plain message, quotes unescaped.
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	if want := `nullrun: "create" requires exactly 1 argument(s)`; !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want it to contain %q", r.stderr, want)
	}
	if !strings.HasPrefix(r.stdout, "Incorrect Usage.") {
		t.Errorf("stdout = %q, want the command help after \"Incorrect Usage.\"", r.stdout)
	}
}

func TestLogFileLastErrorLine(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "log.json")
	// An earlier entry, as left by a previous command with the same file.
	if err := os.WriteFile(logPath, []byte(`{"level":"error","msg":"old","time":"x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	r := runNullrun(t, "--log", logPath, "--log-format=json", "kill")
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	msg := `nullrun: "kill" requires a minimum of 1 argument(s)`
	if !strings.Contains(r.stderr, msg+"\n") {
		t.Errorf("stderr = %q, want the plain line %q", r.stderr, msg)
	}

	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("log has %d lines, want the old one and one new: %q", len(lines), lines)
	}
	var entry struct {
		Level, Msg, Time string
	}
	if err := json.Unmarshal([]byte(lines[1]), &entry); err != nil {
		t.Fatalf("last log line %q is not JSON: %v", lines[1], err)
	}
	if entry.Level != "error" {
		t.Errorf("level = %q, want error", entry.Level)
	}
	if entry.Msg != msg {
		t.Errorf("msg = %q, want %q", entry.Msg, msg)
	}
	if entry.Time == "" {
		t.Errorf("time is empty, want a timestamp")
	}
}

func TestInvalidLogFormat(t *testing.T) {
	r := runNullrun(t, "--log-format", "xml", "list")
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "xml") {
		t.Errorf("stderr = %q, want it to name the value xml", r.stderr)
	}
}

// The tests below open a state root, so they need the runtime's New, Load
// and List.

func TestDeleteForceMissing(t *testing.T) {
	r := runNullrun(t, "--root", t.TempDir(), "delete", "--force", "nosuch")
	if r.code != 0 {
		t.Errorf("exit status = %d, want 0 (stderr %q)", r.code, r.stderr)
	}
}

func TestDeleteMissing(t *testing.T) {
	r := runNullrun(t, "--root", t.TempDir(), "delete", "nosuch")
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("stderr = %q, want it to contain \"does not exist\"", r.stderr)
	}
}

func TestStateMissing(t *testing.T) {
	r := runNullrun(t, "--root", t.TempDir(), "state", "nosuch")
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("stderr = %q, want it to contain \"does not exist\"", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
}

func TestKillMissing(t *testing.T) {
	r := runNullrun(t, "--root", t.TempDir(), "kill", "nosuch", "KILL")
	if r.code != 1 {
		t.Errorf("exit status = %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("stderr = %q, want it to contain \"does not exist\"", r.stderr)
	}
}

func TestListEmptyRoot(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"},
		{[]string{"list", "--format", "json"}, "null\n"},
		{[]string{"list", "-q"}, ""},
	}
	for _, tt := range tests {
		r := runNullrun(t, append([]string{"--root", root}, tt.args...)...)
		if r.code != 0 {
			t.Errorf("%v exit status = %d, want 0 (stderr %q)", tt.args, r.code, r.stderr)
		}
		if r.stdout != tt.want {
			t.Errorf("%v output = %q, want %q", tt.args, r.stdout, tt.want)
		}
	}
}

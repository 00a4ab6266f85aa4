package linux

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCRIU writes a shell script that stands in for criu and points
// NULLRUN_CRIU at it.
func fakeCRIU(t *testing.T, checkOutput string, checkStatus int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "criu")
	script := "#!/bin/sh\n" +
		"if [ \"$1\" = --version ]; then echo 'Version: 9.9.9'; exit 0; fi\n" +
		"printf '%s' '" + checkOutput + "' >&2\n" +
		"exit " + string(rune('0'+checkStatus)) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NULLRUN_CRIU", path)
	return path
}

func TestCRIUCheckPasses(t *testing.T) {
	want := fakeCRIU(t, "Looks good.\n", 0)
	got, err := CRIUCheck()
	if err != nil {
		t.Fatalf("CRIUCheck: got error %v, want nil", err)
	}
	if got != want {
		t.Errorf("criu path: got %q, want %q", got, want)
	}
}

func TestCRIUCheckReportsErrors(t *testing.T) {
	fakeCRIU(t, "(00.01) noise\nError (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n", 1)
	_, err := CRIUCheck()
	if !errors.Is(err, ErrCRIUUnavailable) {
		t.Fatalf("CRIUCheck: got %v, want an error wrapping ErrCRIUUnavailable", err)
	}
	var checkErr *CRIUCheckError
	if !errors.As(err, &checkErr) {
		t.Fatalf("CRIUCheck: got %T, want *CRIUCheckError", err)
	}
	if got, want := checkErr.Version, "9.9.9"; got != want {
		t.Errorf("version: got %q, want %q", got, want)
	}
	want := []string{"Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds"}
	if strings.Join(checkErr.Problems, "|") != strings.Join(want, "|") {
		t.Errorf("problems: got %q, want %q", checkErr.Problems, want)
	}
	if !strings.Contains(err.Error(), want[0]) {
		t.Errorf("message: got %q, want it to quote %q", err, want[0])
	}
}

func TestCRIUCheckWithoutLooksGood(t *testing.T) {
	fakeCRIU(t, "something else\n", 0)
	_, err := CRIUCheck()
	if !errors.Is(err, ErrCRIUUnavailable) {
		t.Fatalf("CRIUCheck: got %v, want an error wrapping ErrCRIUUnavailable", err)
	}
}

func TestCRIUProblemsDeduplicates(t *testing.T) {
	out := "a\nError x\nWarn y\nError x\n"
	got := criuProblems([]byte(out))
	want := []string{"Error x", "Warn y"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("criuProblems: got %q, want %q", got, want)
	}
}

func TestCRIUCommandQuotesLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dump.log")
	if err := os.WriteFile(log, []byte("(0.1) fine\n(0.2) Error (x.c:1): it broke\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := CRIUCommand{Path: "/bin/false", Args: []string{"dump"}, LogFile: log}
	err := cmd.Run()
	if err == nil {
		t.Fatal("Run of /bin/false: got nil error, want one")
	}
	if !strings.Contains(err.Error(), "it broke") {
		t.Errorf("message: got %q, want the log's Error line", err)
	}
	if strings.Contains(err.Error(), "fine") {
		t.Errorf("message: got %q, want no lines other than Error and Warn", err)
	}
	if !strings.Contains(err.Error(), log) {
		t.Errorf("message: got %q, want the log path %s", err, log)
	}
}

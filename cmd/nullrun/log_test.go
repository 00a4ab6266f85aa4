package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

func tempFile(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFile(t *testing.T, f *os.File) string {
	t.Helper()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestReportErrorJSONLine(t *testing.T) {
	logFile := tempFile(t, "log.json")
	stderr := tempFile(t, "stderr")
	logger := logrus.New()
	logger.SetFormatter(new(logrus.JSONFormatter))
	logger.SetOutput(logFile)

	msg := `load container "web": container web does not exist`
	reportError(logger, stderr, errors.New(msg))

	lines := strings.Split(strings.TrimSuffix(readFile(t, logFile), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("log has %d lines, want 1: %q", len(lines), lines)
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &entry); err != nil {
		t.Fatalf("log line %q is not JSON: %v", lines[0], err)
	}
	if len(entry) != 3 {
		t.Errorf("log line has keys %v, want exactly level, msg and time", entry)
	}
	if entry["level"] != "error" {
		t.Errorf("level = %v, want error", entry["level"])
	}
	if entry["msg"] != msg {
		t.Errorf("msg = %v, want %q", entry["msg"], msg)
	}
	ts, _ := entry["time"].(string)
	if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("time = %q, want RFC 3339: %v", ts, err)
	}

	if got, want := readFile(t, stderr), msg+"\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestReportErrorToStderrOnce(t *testing.T) {
	stderr := tempFile(t, "stderr")
	logger := logrus.New()
	logger.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	logger.SetOutput(stderr)

	reportError(logger, stderr, errors.New("container not running"))

	got := readFile(t, stderr)
	if want := "container not running\n"; got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestCheckRootless(t *testing.T) {
	for _, v := range []string{"", "auto", "AUTO", "true", "false", "1", "0"} {
		if err := checkRootless(v); err != nil {
			t.Errorf("checkRootless(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"maybe", "yes", "2"} {
		if err := checkRootless(v); err == nil {
			t.Errorf("checkRootless(%q) = nil, want an error", v)
		}
	}
}

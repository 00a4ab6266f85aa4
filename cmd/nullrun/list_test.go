package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/nullrun/nullrun/runtime"
)

func TestListTableEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := writeListTable(&buf, nil); err != nil {
		t.Fatal(err)
	}
	// What runc 1.1.5 prints for a root without containers.
	want := "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n"
	if got := buf.String(); got != want {
		t.Errorf("table = %q, want %q", got, want)
	}
}

func TestListTableRow(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 30, 5, 123456789, time.UTC)
	states := []runtime.State{{
		ID:      "web",
		Pid:     4242,
		Status:  runtime.Running,
		Bundle:  "/srv/bundles/web",
		Created: created,
		Owner:   "root",
	}}
	var buf bytes.Buffer
	if err := writeListTable(&buf, states); err != nil {
		t.Fatal(err)
	}
	want := "ID          PID         STATUS      BUNDLE             CREATED                          OWNER\n" +
		"web         4242        running     /srv/bundles/web   2026-03-01T12:30:05.123456789Z   root\n"
	if got := buf.String(); got != want {
		t.Errorf("table =\n%s\nwant\n%s", got, want)
	}
}

func TestListJSONEmpty(t *testing.T) {
	for _, states := range [][]runtime.State{nil, {}} {
		var buf bytes.Buffer
		if err := writeListJSON(&buf, states); err != nil {
			t.Fatal(err)
		}
		if got, want := buf.String(), "null\n"; got != want {
			t.Errorf("json for %#v = %q, want %q", states, got, want)
		}
	}
}

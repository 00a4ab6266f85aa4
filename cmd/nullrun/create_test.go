package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckTerminal(t *testing.T) {
	withTerminal := t.TempDir()
	withoutTerminal := t.TempDir()
	noConfig := t.TempDir()
	write := func(dir, content string) {
		if err := os.WriteFile(filepath.Join(dir, specConfig), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(withTerminal, `{"process":{"terminal":true}}`)
	write(withoutTerminal, `{"process":{"terminal":false}}`)

	tests := []struct {
		bundle  string
		detach  bool
		socket  string
		wantErr bool
	}{
		{withTerminal, true, "", true},
		{withTerminal, true, "/run/sock", false},
		{withTerminal, false, "", false},
		{withTerminal, false, "/run/sock", true},
		{withoutTerminal, true, "", false},
		{withoutTerminal, true, "/run/sock", true},
		{withoutTerminal, false, "", false},
		{noConfig, true, "", false},
	}
	for _, tt := range tests {
		err := checkTerminal(tt.bundle, tt.detach, tt.socket)
		if gotErr := err != nil; gotErr != tt.wantErr {
			t.Errorf("checkTerminal(%s, detach=%v, socket=%q) = %v, want error %v",
				filepath.Base(tt.bundle), tt.detach, tt.socket, err, tt.wantErr)
		}
	}
}

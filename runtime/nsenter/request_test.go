package nsenter

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestStartRejectsInvalidRequest(t *testing.T) {
	oneRange := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"unknown join type", Request{Join: []Namespace{{Type: "nets", Path: "/x"}}}, `invalid namespace type "nets"`},
		{"empty path", Request{Join: []Namespace{{Type: "net"}}}, "join net namespace: path is empty"},
		{"duplicate join", Request{Join: []Namespace{{Type: "net", Path: "/a"}, {Type: "network", Path: "/b"}}}, "another net namespace"},
		{"unknown unshare type", Request{Unshare: []string{"disk"}}, `invalid namespace type "disk"`},
		{"cgroup unshare", Request{Unshare: []string{"cgroup"}}, "unshare cgroup namespace"},
		{"unshare twice", Request{Unshare: []string{"mnt", "mount"}}, "unshare mnt namespace: listed twice"},
		{"join and unshare", Request{Join: []Namespace{{Type: "ipc", Path: "/a"}}, Unshare: []string{"ipc"}}, "keep one"},
		{"maps without user", Request{UIDMappings: oneRange}, "no new user namespace"},
		{"setgroups without user", Request{SetgroupsDeny: true}, "no new user namespace"},
		{"empty range", Request{Unshare: []string{"user"}, GIDMappings: []specs.LinuxIDMapping{{Size: 0}}}, "has size 0"},
		{"offsets without time", Request{TimeOffsets: map[string]specs.LinuxTimeOffset{"monotonic": {}}}, "no new time namespace"},
		{"unknown clock", Request{Unshare: []string{"time"}, TimeOffsets: map[string]specs.LinuxTimeOffset{"realtime": {}}}, `invalid clock "realtime"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := childCommand()
			_, _, err := Start(cmd, tt.req)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: got error %v, want one containing %q", err, tt.want)
			}
			if cmd.Process != nil {
				t.Errorf("child: got started (pid %d), want not started", cmd.Process.Pid)
			}
		})
	}
}

func TestEncodeSendsUserFirst(t *testing.T) {
	req := Request{Join: []Namespace{
		{Type: "mnt", Path: "/m"}, {Type: "net", Path: "/n"}, {Type: "user", Path: "/u"},
	}}
	enc, err := req.encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var paths []string
	for msg := enc.msg; len(msg) > 0; {
		typ, payload, err := readMessage(strings.NewReader(string(msg)))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if typ == reqJoin {
			paths = append(paths, string(payload[4:]))
		}
		msg = msg[headerSize+len(payload):]
	}
	if got, want := strings.Join(paths, " "), "/u /n /m"; got != want {
		t.Errorf("join order: got %q, want %q", got, want)
	}
}

func TestSetEnvReplaces(t *testing.T) {
	got := setEnv([]string{"A=1", EnvFD + "=9", "B=2"}, EnvFD, "4")
	want := []string{"A=1", "B=2", EnvFD + "=4"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("setEnv: got %v, want %v", got, want)
	}
}

package nsenter

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
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
		{"cgroupns without pause", Request{CgroupNamespace: true}, "set Pause too"},
		{"cgroupns and join", Request{Join: []Namespace{{Type: "cgroup", Path: "/c"}}, Pause: true, CgroupNamespace: true}, "a cgroup namespace to join"},
		{"null user without pause", Request{NullUser: &IDs{UID: 65534, GID: 65534}}, "set null user: set Pause too"},
		{"null user uid 0", Request{Pause: true, NullUser: &IDs{UID: 0, GID: 65534}}, "an unmapped user namespace over host uid 0 would still own root's files"},
		{"null user gid 0", Request{Pause: true, NullUser: &IDs{UID: 65534, GID: 0}}, "gid 0 is invalid"},
		{"null user uid -1", Request{Pause: true, NullUser: &IDs{UID: 1<<32 - 1, GID: 65534}}, "uid 4294967295, gid 65534: 4294967295 is invalid"},
		{"null user gid -1", Request{Pause: true, NullUser: &IDs{UID: 65534, GID: 1<<32 - 1}}, "4294967295 is invalid"},
		{"null user and new user", Request{Unshare: []string{"user"}, Pause: true, NullUser: &IDs{UID: 65534, GID: 65534}}, "the null user replaces it"},
		{"null user and joined user", Request{Join: []Namespace{{Type: "user", Path: "/u"}}, Pause: true, NullUser: &IDs{UID: 65534, GID: 65534}}, "the null user replaces it"},
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

func TestEncodePauseMessage(t *testing.T) {
	req := Request{Unshare: []string{"mnt"}, Pause: true, CgroupNamespace: true, NullUser: &IDs{UID: 1000, GID: 2000}}
	enc, err := req.encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var types []uint32
	var pause []byte
	for msg := enc.msg; len(msg) > 0; {
		typ, payload, err := readMessage(strings.NewReader(string(msg)))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		types = append(types, typ)
		if typ == reqPause {
			pause = payload
		}
		msg = msg[headerSize+len(payload):]
	}
	if got, want := fmt.Sprint(types), fmt.Sprint([]uint32{reqUnshare, reqPause, reqEnd}); got != want {
		t.Errorf("message types: got %s, want %s", got, want)
	}
	want := slices.Concat(uint32Bytes(pauseCgroupns|pauseNullUser), uint32Bytes(1000), uint32Bytes(2000))
	if !bytes.Equal(pause, want) {
		t.Errorf("pause payload: got %x, want %x", pause, want)
	}
}

func TestEncodeOmitsPauseByDefault(t *testing.T) {
	enc, err := (&Request{Unshare: []string{"mnt"}}).encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if got := binary.NativeEndian.Uint32(enc.msg[len(enc.msg)-headerSize:]); got != reqEnd {
		t.Errorf("last message type: got %d, want %d (end)", got, reqEnd)
	}
	if n := len(enc.msg); n != 2*headerSize+4 {
		t.Errorf("request length: got %d bytes, want %d (unshare and end only)", n, 2*headerSize+4)
	}
}

func TestSetEnvReplaces(t *testing.T) {
	got := setEnv([]string{"A=1", EnvFD + "=9", "B=2"}, EnvFD, "4")
	want := []string{"A=1", "B=2", EnvFD + "=4"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("setEnv: got %v, want %v", got, want)
	}
}

package specext

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// nullSet builds a Null map from setting names.
func nullSet(settings ...Setting) map[Setting]bool {
	m := map[Setting]bool{}
	for _, s := range settings {
		m[s] = true
	}
	return m
}

func TestParseNoAnnotations(t *testing.T) {
	for _, annotations := range []map[string]string{
		nil,
		{},
		{"io.kubernetes.cri.container-type": "sandbox", "dev.nullrunner.x": "y", "dev.null": "mount"},
	} {
		c, err := Parse(annotations)
		if err != nil {
			t.Errorf("Parse(%v): got error %v, want nil", annotations, err)
		}
		if c != nil {
			t.Errorf("Parse(%v): got %+v, want nil", annotations, c)
		}
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		want        *Config
	}{
		{
			name:        "one setting",
			annotations: map[string]string{NullKey: "network"},
			want:        &Config{Null: nullSet(Network), Enforce: EnforceStrict},
		},
		{
			name:        "all",
			annotations: map[string]string{NullKey: "all"},
			want:        &Config{Null: nullSet(Settings...), Enforce: EnforceStrict},
		},
		{
			name:        "all with whitespace",
			annotations: map[string]string{NullKey: " all\t"},
			want:        &Config{Null: nullSet(Settings...), Enforce: EnforceStrict},
		},
		{
			name:        "mount implies root and cwd",
			annotations: map[string]string{NullKey: "mount"},
			want:        &Config{Null: nullSet(Mount, Root, Cwd), Enforce: EnforceStrict},
		},
		{
			name:        "mount with explicit root",
			annotations: map[string]string{NullKey: "root,mount"},
			want:        &Config{Null: nullSet(Mount, Root, Cwd), Enforce: EnforceStrict},
		},
		{
			name:        "root without mount",
			annotations: map[string]string{NullKey: "root"},
			want:        &Config{Null: nullSet(Root), Enforce: EnforceStrict},
		},
		{
			name:        "whitespace around items",
			annotations: map[string]string{NullKey: " ipc ,\tuts,pid\n, time"},
			want:        &Config{Null: nullSet(IPC, UTS, PID, Time), Enforce: EnforceStrict},
		},
		{
			name: "every setting listed",
			annotations: map[string]string{
				NullKey: "mount,network,ipc,uts,user,pid,cgroup,time,root,cwd",
			},
			want: &Config{Null: nullSet(Settings...), Enforce: EnforceStrict},
		},
		{
			name:        "enforce alone",
			annotations: map[string]string{EnforceKey: "permissive"},
			want:        &Config{Null: nullSet(), Enforce: EnforcePermissive},
		},
		{
			name:        "enforce native",
			annotations: map[string]string{NullKey: "user", EnforceKey: "native"},
			want:        &Config{Null: nullSet(User), Enforce: EnforceNative},
		},
		{
			name:        "enforce strict with whitespace",
			annotations: map[string]string{EnforceKey: " strict "},
			want:        &Config{Null: nullSet(), Enforce: EnforceStrict},
		},
		{
			name: "grants of each kind sorted by fd",
			annotations: map[string]string{
				NullKey:                  "all",
				GrantKeyPrefix + "10":    "listen:/run/app/listen.sock",
				GrantKeyPrefix + "3":     "/srv/src",
				GrantKeyPrefix + "4":     "/srv/out:rw",
				GrantKeyPrefix + "5":     "/etc/resolv.conf:ro",
				GrantKeyPrefix + "9":     "unix:/run/dbus/system_bus_socket",
				GrantKeyPrefix + "1023":  "/",
				"org.example.unrelated":  "kept out",
				"io.kubernetes.cri.pod1": "",
			},
			want: &Config{
				Null:    nullSet(Settings...),
				Enforce: EnforceStrict,
				Grants: []Grant{
					{FD: 3, Kind: GrantPath, Path: "/srv/src"},
					{FD: 4, Kind: GrantPath, Path: "/srv/out", Writable: true},
					{FD: 5, Kind: GrantPath, Path: "/etc/resolv.conf"},
					{FD: 9, Kind: GrantUnixConnect, Path: "/run/dbus/system_bus_socket"},
					{FD: 10, Kind: GrantUnixListen, Path: "/run/app/listen.sock"},
					{FD: 1023, Kind: GrantPath, Path: "/"},
				},
			},
		},
		{
			name: "colon paths",
			annotations: map[string]string{
				GrantKeyPrefix + "3": "/srv/a:b:ro",
				GrantKeyPrefix + "4": "/srv/a:b:rw",
				GrantKeyPrefix + "5": "/srv/x:ro:ro",
				GrantKeyPrefix + "6": "/srv/x:rw:rw",
				GrantKeyPrefix + "7": "unix:/run/a:b.sock",
				GrantKeyPrefix + "8": "listen:/run/c:d",
				GrantKeyPrefix + "9": "/srv/x:ro/y:ro",
			},
			want: &Config{
				Null:    nullSet(),
				Enforce: EnforceStrict,
				Grants: []Grant{
					{FD: 3, Kind: GrantPath, Path: "/srv/a:b"},
					{FD: 4, Kind: GrantPath, Path: "/srv/a:b", Writable: true},
					{FD: 5, Kind: GrantPath, Path: "/srv/x:ro"},
					{FD: 6, Kind: GrantPath, Path: "/srv/x:rw", Writable: true},
					{FD: 7, Kind: GrantUnixConnect, Path: "/run/a:b.sock"},
					{FD: 8, Kind: GrantUnixListen, Path: "/run/c:d"},
					{FD: 9, Kind: GrantPath, Path: "/srv/x:ro/y"},
				},
			},
		},
		{
			name: "path named like a prefix",
			annotations: map[string]string{
				GrantKeyPrefix + "3": "/unix:/x:ro",
			},
			want: &Config{
				Null:    nullSet(),
				Enforce: EnforceStrict,
				Grants:  []Grant{{FD: 3, Kind: GrantPath, Path: "/unix:/x"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.annotations)
			if err != nil {
				t.Fatalf("Parse: got error %v, want nil", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// g3 is the key of a grant on fd 3.
const g3 = GrantKeyPrefix + "3"

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name        string
		annotations map[string]string
		key         string // AnnotationError.Key
		reason      string // substring of AnnotationError.Reason
	}{
		{"empty null value", map[string]string{NullKey: ""}, NullKey, "empty item"},
		{"blank null value", map[string]string{NullKey: "  "}, NullKey, "empty item"},
		{"empty item", map[string]string{NullKey: "mount,,pid"}, NullKey, "empty item"},
		{"trailing comma", map[string]string{NullKey: "mount,"}, NullKey, "empty item"},
		{"unknown setting", map[string]string{NullKey: "mount,net"}, NullKey, `unknown setting "net"`},
		{"uppercase setting", map[string]string{NullKey: "Mount"}, NullKey, `unknown setting "Mount"`},
		{"inner space", map[string]string{NullKey: "cgroup ns"}, NullKey, `unknown setting "cgroup ns"`},
		{"duplicate", map[string]string{NullKey: "pid, ipc ,pid"}, NullKey, `"pid" is listed twice`},
		{"all with others", map[string]string{NullKey: "all,mount"}, NullKey, `"all" must be the only item`},
		{"all twice", map[string]string{NullKey: "all,all"}, NullKey, `"all" must be the only item`},
		{"unknown mode", map[string]string{EnforceKey: "strictest"}, EnforceKey, "unknown mode"},
		{"empty mode", map[string]string{EnforceKey: ""}, EnforceKey, "unknown mode"},
		{"uppercase mode", map[string]string{EnforceKey: "Strict"}, EnforceKey, "unknown mode"},
		{"unknown key", map[string]string{Prefix + "nul": "mount"}, Prefix + "nul", "unknown key"},
		{"bare prefix", map[string]string{Prefix: "x"}, Prefix, "unknown key"},
		{"uppercase key", map[string]string{"DEV.NULLRUN.NULL": "mount"}, "DEV.NULLRUN.NULL", "unknown key"},
		{"grant without dot", map[string]string{Prefix + "grant3": "/x"}, Prefix + "grant3", "unknown key"},
		{"grant without fd", map[string]string{GrantKeyPrefix: "/x"}, GrantKeyPrefix, "missing fd number"},
		{"grant fd 2", map[string]string{GrantKeyPrefix + "2": "/x"}, GrantKeyPrefix + "2", "out of range"},
		{"grant fd 0", map[string]string{GrantKeyPrefix + "0": "/x"}, GrantKeyPrefix + "0", "out of range"},
		{"grant fd 1024", map[string]string{GrantKeyPrefix + "1024": "/x"}, GrantKeyPrefix + "1024", "out of range"},
		{
			"grant fd overflow",
			map[string]string{GrantKeyPrefix + "99999999999999999999999": "/x"},
			GrantKeyPrefix + "99999999999999999999999", "out of range",
		},
		{"grant fd leading zero", map[string]string{GrantKeyPrefix + "03": "/x"}, GrantKeyPrefix + "03", "leading zero"},
		{"grant fd plus sign", map[string]string{GrantKeyPrefix + "+3": "/x"}, GrantKeyPrefix + "+3", "not a decimal"},
		{"grant fd minus sign", map[string]string{GrantKeyPrefix + "-3": "/x"}, GrantKeyPrefix + "-3", "not a decimal"},
		{"grant fd hex", map[string]string{GrantKeyPrefix + "0x3": "/x"}, GrantKeyPrefix + "0x3", "not a decimal"},
		{"grant fd space", map[string]string{GrantKeyPrefix + " 3": "/x"}, GrantKeyPrefix + " 3", "not a decimal"},
		{"grant fd unicode digit", map[string]string{GrantKeyPrefix + "٣": "/x"}, GrantKeyPrefix + "٣", "not a decimal"},
		{"grant empty", map[string]string{g3: ""}, g3, "path is empty"},
		{"grant empty ro", map[string]string{g3: ":ro"}, g3, "path is empty"},
		{"grant empty unix", map[string]string{g3: "unix:"}, g3, "path is empty"},
		{"grant relative", map[string]string{g3: "srv/x"}, g3, "not absolute"},
		{"grant relative rw", map[string]string{g3: "./x:rw"}, g3, "not absolute"},
		{"grant relative unix", map[string]string{g3: "unix:x.sock"}, g3, "not absolute"},
		{"grant dotdot", map[string]string{g3: "/srv/../etc"}, g3, "not clean"},
		{"grant root dotdot", map[string]string{g3: "/.."}, g3, "not clean"},
		{"grant dot", map[string]string{g3: "/srv/./x:rw"}, g3, "not clean"},
		{"grant double slash", map[string]string{g3: "//srv"}, g3, "not clean"},
		{"grant trailing slash", map[string]string{g3: "/srv/"}, g3, "not clean"},
		{"grant listen dotdot", map[string]string{g3: "listen:/run/../x"}, g3, "not clean"},
		{"grant nul", map[string]string{g3: "/srv/a\x00b"}, g3, "NUL byte"},
		{"grant colon without mode", map[string]string{g3: "/srv/a:b"}, g3, "explicit mode"},
		{"grant unknown mode", map[string]string{g3: "/srv/a:wr"}, g3, "explicit mode"},
		{"grant uppercase mode", map[string]string{g3: "/srv/a:RO"}, g3, "explicit mode"},
		{"grant unknown type", map[string]string{g3: "tcp:/x"}, g3, `unknown grant type "tcp"`},
		{"grant uppercase type", map[string]string{g3: "UNIX:/x"}, g3, `unknown grant type "UNIX"`},
		{"grant relative colon", map[string]string{g3: "x:y/z"}, g3, `unknown grant type "x"`},
		{"grant unix with mode", map[string]string{g3: "unix:/run/x.sock:rw"}, g3, "takes no :ro or :rw"},
		{"grant listen with mode", map[string]string{g3: "listen:/run/x.sock:ro"}, g3, "takes no :ro or :rw"},
		{
			"first error in key order",
			map[string]string{NullKey: "bogus", EnforceKey: "bogus"},
			EnforceKey, "unknown mode",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.annotations)
			if c != nil {
				t.Errorf("Parse: got config %+v, want nil", c)
			}
			var ae *AnnotationError
			if !errors.As(err, &ae) {
				t.Fatalf("Parse: got error %v, want an *AnnotationError", err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Parse: got error %v, want one that wraps ErrInvalid", err)
			}
			if ae.Key != tt.key {
				t.Errorf("Parse: got key %q, want %q", ae.Key, tt.key)
			}
			if ae.Value != tt.annotations[tt.key] {
				t.Errorf("Parse: got value %q, want %q", ae.Value, tt.annotations[tt.key])
			}
			if !strings.Contains(ae.Reason, tt.reason) {
				t.Errorf("Parse: got reason %q, want it to contain %q", ae.Reason, tt.reason)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("Parse: got message %q, want it to name the key %q", err, tt.key)
			}
		})
	}
}

func TestParseErrorSuggestsFix(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"/srv/a:b", `write "/srv/a:b:ro" or "/srv/a:b:rw"`},
		{"/srv/../etc:rw", `write "/etc"`},
		{"unix:/run/x.sock:ro", "write unix:/run/x.sock"},
		{"listen:/run/x:rw", "write listen:/run/x"},
	}
	for _, tt := range tests {
		_, err := Parse(map[string]string{GrantKeyPrefix + "3": tt.value})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): got error %v, want one containing %q", tt.value, err, tt.want)
		}
	}
}

func TestConfigHas(t *testing.T) {
	var nilConfig *Config
	if nilConfig.Has(Mount) {
		t.Errorf("nil Config: got Has(mount) true, want false")
	}
	c := &Config{Null: nullSet(Network)}
	if !c.Has(Network) {
		t.Errorf("got Has(network) false, want true")
	}
	if c.Has(Mount) {
		t.Errorf("got Has(mount) true, want false")
	}
}

func TestNullSettingsOrder(t *testing.T) {
	c, err := Parse(map[string]string{NullKey: "cwd,time,mount,network"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.NullSettings()
	want := []Setting{Mount, Network, Time, Root, Cwd}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestAnnotationsCanonical(t *testing.T) {
	c, err := Parse(map[string]string{
		NullKey:              " pid,mount ",
		GrantKeyPrefix + "3": "/srv",
		GrantKeyPrefix + "4": "/srv/a:b:rw",
		GrantKeyPrefix + "5": "unix:/run/x.sock",
		"org.example.other":  "y",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Annotations()
	want := map[string]string{
		NullKey:              "mount,pid,root,cwd",
		EnforceKey:           "strict",
		GrantKeyPrefix + "3": "/srv:ro",
		GrantKeyPrefix + "4": "/srv/a:b:rw",
		GrantKeyPrefix + "5": "unix:/run/x.sock",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestGrantString(t *testing.T) {
	tests := []struct {
		grant Grant
		want  string
	}{
		{Grant{FD: 3, Path: "/a"}, "dev.nullrun.grant.3=/a:ro"},
		{Grant{FD: 4, Path: "/a:b", Writable: true}, "dev.nullrun.grant.4=/a:b:rw"},
		{Grant{FD: 5, Kind: GrantUnixConnect, Path: "/s"}, "dev.nullrun.grant.5=unix:/s"},
		{Grant{FD: 6, Kind: GrantUnixListen, Path: "/s"}, "dev.nullrun.grant.6=listen:/s"},
	}
	for _, tt := range tests {
		if got := tt.grant.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.grant, got, tt.want)
		}
	}
}

func TestGrantKindString(t *testing.T) {
	tests := map[GrantKind]string{
		GrantPath:        "path",
		GrantUnixConnect: "unix",
		GrantUnixListen:  "listen",
		GrantKind(7):     "GrantKind(7)",
	}
	for kind, want := range tests {
		if got := kind.String(); got != want {
			t.Errorf("GrantKind(%d): got %q, want %q", int(kind), got, want)
		}
	}
}

package specext

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds Parse annotations given as lines of key=value. Parse must
// not panic, every accepted Config must satisfy the documented invariants,
// and its canonical rendering must parse back to an equal Config.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"dev.nullrun.null=all",
		"dev.nullrun.null= mount , pid\ndev.nullrun.enforce=native",
		"dev.nullrun.null=mount,,pid",
		"dev.nullrun.enforce=permissive\ndev.nullrun.grant.3=/srv:rw",
		"dev.nullrun.grant.4=/srv/a:b:ro\ndev.nullrun.grant.5=unix:/run/x:y.sock",
		"dev.nullrun.grant.1023=listen:/run/app.sock\norg.example=1",
		"dev.nullrun.grant.03=/x",
		"dev.nullrun.grant.3=/srv/../x",
		"dev.nullrun.grant.3=/x:ro:ro",
		"DEV.nullrun.null=pid",
		"dev.nullrun.nul=pid",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		annotations := map[string]string{}
		for line := range strings.SplitSeq(data, "\n") {
			key, value, _ := strings.Cut(line, "=")
			annotations[key] = value
		}

		c, err := Parse(annotations)
		if err != nil || c == nil {
			return
		}
		checkInvariants(t, c)

		rendered := c.Annotations()
		again, err := Parse(rendered)
		if err != nil {
			t.Fatalf("Parse(%q): got error %v on the rendering of an accepted config", rendered, err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q:\ngot  %+v\nwant %+v", rendered, again, c)
		}
		if got := again.Annotations(); !reflect.DeepEqual(got, rendered) {
			t.Fatalf("second rendering: got %q, want %q", got, rendered)
		}
	})
}

// checkInvariants fails t unless c satisfies what Parse documents.
func checkInvariants(t *testing.T, c *Config) {
	t.Helper()
	if c.Null == nil {
		t.Fatalf("Null: got nil map, want non-nil")
	}
	for s := range c.Null {
		if !slices.Contains(Settings, s) {
			t.Fatalf("Null: got unknown setting %q", s)
		}
	}
	if c.Has(Mount) && !(c.Has(Root) && c.Has(Cwd)) {
		t.Fatalf("Null: got %v, want root and cwd with mount", c.Null)
	}
	if !slices.Contains(enforceModes, c.Enforce) {
		t.Fatalf("Enforce: got %q, want a known mode", c.Enforce)
	}
	for i, g := range c.Grants {
		if i > 0 && c.Grants[i-1].FD >= g.FD {
			t.Fatalf("Grants: got fd %d after %d, want strictly increasing", g.FD, c.Grants[i-1].FD)
		}
		if g.FD < MinGrantFD || g.FD > MaxGrantFD {
			t.Fatalf("Grants: got fd %d, want %d-%d", g.FD, MinGrantFD, MaxGrantFD)
		}
		if problem := grantPathProblem(g.Path); problem != "" {
			t.Fatalf("Grants: got path %q: %s", g.Path, problem)
		}
		if g.Writable && g.Kind != GrantPath {
			t.Fatalf("Grants: got writable %s grant, want only path grants writable", g.Kind)
		}
	}
}

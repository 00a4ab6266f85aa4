package specext

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEnforcementString(t *testing.T) {
	tests := []struct {
		enforcement Enforcement
		want        string
	}{
		{Enforcement{Setting: Root, Kind: EnforcementNative, Feature: "failfs"}, "native:failfs"},
		{
			Enforcement{Setting: Network, Kind: EnforcementEmulated, Mechanisms: []string{"seccomp", "landlock"}},
			"emulated:seccomp+landlock",
		},
		{Enforcement{Setting: User, Kind: EnforcementEmulated, Mechanisms: []string{"userns-unmapped"}}, "emulated:userns-unmapped"},
		{Enforcement{Setting: Time, Kind: EnforcementFresh}, "fresh-namespace"},
		{
			Enforcement{Setting: Time, Kind: EnforcementUnavailable, Reason: "vDSO clocks bypass seccomp"},
			"unavailable:vDSO clocks bypass seccomp",
		},
		{Enforcement{Setting: Time, Kind: "magic"}, `invalid:"magic"`},
		{Enforcement{Setting: Time}, `invalid:""`},
	}
	for _, tt := range tests {
		if got := tt.enforcement.String(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.enforcement, got, tt.want)
		}
	}
}

func TestFeatures(t *testing.T) {
	doc := Features([]Enforcement{
		{Setting: Network, Kind: EnforcementEmulated, Mechanisms: []string{"seccomp", "landlock"}},
		{Setting: Time, Kind: EnforcementUnavailable, Reason: "no time isolation"},
		{Setting: Time, Kind: EnforcementFresh},
	})

	var keys []string
	for _, a := range doc.Annotations {
		keys = append(keys, a.Key)
		if a.Description == "" {
			t.Errorf("%s: got empty description, want one", a.Key)
		}
		if len(a.Values) == 0 {
			t.Errorf("%s: got no values, want some", a.Key)
		}
	}
	wantKeys := []string{NullKey, EnforceKey, GrantKeyPrefix + "<N>"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("annotation keys: got %v, want %v", keys, wantKeys)
	}
	if got := doc.Annotations[0].Values; len(got) != len(Settings)+1 || got[len(got)-1] != AllSettings {
		t.Errorf("null values: got %v, want the settings followed by %q", got, AllSettings)
	}
	if got := doc.Annotations[1].Default; got != string(EnforceStrict) {
		t.Errorf("enforce default: got %q, want %q", got, EnforceStrict)
	}
	if !reflect.DeepEqual(doc.Settings, Settings) {
		t.Errorf("settings: got %v, want %v", doc.Settings, Settings)
	}

	wantEnforcement := map[Setting]string{
		Network: "emulated:seccomp+landlock",
		Time:    "fresh-namespace",
	}
	if !reflect.DeepEqual(doc.Enforcement, wantEnforcement) {
		t.Errorf("enforcement: got %v, want %v", doc.Enforcement, wantEnforcement)
	}
}

func TestFeaturesSettingsCopied(t *testing.T) {
	doc := Features(nil)
	doc.Settings[0] = "changed"
	if Settings[0] != Mount {
		t.Errorf("Settings[0]: got %q after changing the document, want %q", Settings[0], Mount)
	}
}

func TestFeaturesJSON(t *testing.T) {
	doc := Features([]Enforcement{{Setting: Root, Kind: EnforcementNative, Feature: "failfs"}})
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var got struct {
		Annotations []struct {
			Key     string   `json:"key"`
			Values  []string `json:"values"`
			Default string   `json:"default"`
		} `json:"annotations"`
		Settings    []string          `json:"settings"`
		Enforcement map[string]string `json:"enforcement"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	if len(got.Annotations) != 3 {
		t.Errorf("annotations: got %d, want 3 in %s", len(got.Annotations), data)
	}
	if len(got.Settings) != len(Settings) {
		t.Errorf("settings: got %d, want %d in %s", len(got.Settings), len(Settings), data)
	}
	if got.Enforcement["root"] != "native:failfs" {
		t.Errorf("enforcement.root: got %q, want %q", got.Enforcement["root"], "native:failfs")
	}
}

package specext

import "fmt"

// FeaturesDocument is the null part of the `nullrun features` output. It
// marshals to JSON.
type FeaturesDocument struct {
	// Annotations describes every annotation key that Parse accepts.
	Annotations []AnnotationFeature `json:"annotations"`
	// Settings lists the null settings in canonical order.
	Settings []Setting `json:"settings"`
	// Enforcement maps each setting to Enforcement.String() for this kernel.
	// Settings that the caller gave no Enforcement for are absent.
	Enforcement map[Setting]string `json:"enforcement"`
}

// AnnotationFeature describes one annotation key.
type AnnotationFeature struct {
	// Key is the annotation key. For grants it is the pattern
	// "dev.nullrun.grant.<N>".
	Key string `json:"key"`
	// Description is a one-line description.
	Description string `json:"description"`
	// Values lists the accepted values or value forms.
	Values []string `json:"values"`
	// Default is the value used when the key is absent, if there is one.
	Default string `json:"default,omitempty"`
}

// Features returns the features document with the given enforcements,
// which the caller gets from package nullns. When enforcements lists a
// setting more than once, the last entry wins.
func Features(enforcements []Enforcement) FeaturesDocument {
	settingValues := make([]string, 0, len(Settings)+1)
	for _, s := range Settings {
		settingValues = append(settingValues, string(s))
	}
	settingValues = append(settingValues, AllSettings)

	modes := make([]string, len(enforceModes))
	for i, m := range enforceModes {
		modes[i] = string(m)
	}

	doc := FeaturesDocument{
		Annotations: []AnnotationFeature{
			{
				Key: NullKey,
				Description: "comma list of the settings to null, or all; " +
					"mount implies root and cwd",
				Values: settingValues,
			},
			{
				Key: EnforceKey,
				Description: "strict: native or an equivalent emulation, else fail; " +
					"native: kernel features only, else fail; " +
					"permissive: fall back to a fresh namespace",
				Values:  modes,
				Default: string(EnforceStrict),
			},
			{
				Key: GrantKeyPrefix + "<N>",
				Description: fmt.Sprintf("hand the process fd N (%d-%d): a file or directory "+
					"(read-only unless :rw), a connected unix socket, or a listening unix socket; "+
					"a path that contains ':' needs an explicit :ro or :rw",
					MinGrantFD, MaxGrantFD),
				Values: []string{"PATH", "PATH" + roSuffix, "PATH" + rwSuffix,
					unixPrefix + "PATH", listenPrefix + "PATH"},
			},
		},
		Settings:    append([]Setting(nil), Settings...),
		Enforcement: map[Setting]string{},
	}
	for _, e := range enforcements {
		doc.Enforcement[e.Setting] = e.String()
	}
	return doc
}

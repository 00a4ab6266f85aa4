package specext

import (
	"slices"
	"strings"
)

// Parse reads the dev.nullrun.* annotations into a Config. It returns nil,
// nil when no key starts with Prefix, so a plain OCI bundle runs as it
// would under runc.
//
// Keys are checked in sorted order and the first problem is returned as an
// *AnnotationError that wraps ErrInvalid. A key that matches Prefix when
// compared case-insensitively but is not one of the known keys is an error,
// so a misspelled key cannot silently drop a restriction.
func Parse(annotations map[string]string) (*Config, error) {
	var keys []string
	for k := range annotations {
		if strings.HasPrefix(strings.ToLower(k), Prefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	slices.Sort(keys)

	c := &Config{Null: map[Setting]bool{}, Enforce: EnforceStrict}
	for _, key := range keys {
		value := annotations[key]
		var err error
		switch {
		case key == NullKey:
			c.Null, err = parseNull(value)
		case key == EnforceKey:
			c.Enforce, err = parseEnforce(value)
		case strings.HasPrefix(key, GrantKeyPrefix):
			var g Grant
			g, err = parseGrant(key, value)
			c.Grants = append(c.Grants, g)
		default:
			err = invalid(key, value, "unknown key; the known keys are %s, %s and %s<N>",
				NullKey, EnforceKey, GrantKeyPrefix)
		}
		if err != nil {
			return nil, err
		}
	}

	sortGrants(c.Grants)
	return c, nil
}

// parseNull parses the value of dev.nullrun.null.
func parseNull(value string) (map[Setting]bool, error) {
	null := map[Setting]bool{}
	items := strings.Split(value, ",")
	for _, raw := range items {
		item := strings.TrimSpace(raw)
		switch {
		case item == "":
			return nil, invalid(NullKey, value,
				"empty item; write a comma list of %s, or %s", settingList(), AllSettings)
		case item == AllSettings:
			if len(items) > 1 {
				return nil, invalid(NullKey, value, "%q must be the only item; remove the others", AllSettings)
			}
			for _, s := range Settings {
				null[s] = true
			}
		case !slices.Contains(Settings, Setting(item)):
			return nil, invalid(NullKey, value,
				"unknown setting %q; use %s, or %s", item, settingList(), AllSettings)
		case null[Setting(item)]:
			return nil, invalid(NullKey, value, "setting %q is listed twice; list it once", item)
		default:
			null[Setting(item)] = true
		}
	}

	// Without a mount namespace there is no mount table to resolve the root
	// or the working directory in, so both go with it.
	if null[Mount] {
		null[Root] = true
		null[Cwd] = true
	}
	return null, nil
}

// parseEnforce parses the value of dev.nullrun.enforce. Surrounding
// whitespace is ignored, as it is around the items of dev.nullrun.null.
func parseEnforce(value string) (Enforce, error) {
	mode := Enforce(strings.TrimSpace(value))
	if !slices.Contains(enforceModes, mode) {
		return "", invalid(EnforceKey, value, "unknown mode; use %s, %s or %s",
			EnforceStrict, EnforceNative, EnforcePermissive)
	}
	return mode, nil
}

// settingList returns the setting names separated by ", ".
func settingList() string {
	names := make([]string, len(Settings))
	for i, s := range Settings {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}

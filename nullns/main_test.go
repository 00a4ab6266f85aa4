package nullns

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// helperEnv names the scenario that a re-executed test binary runs instead
// of the tests; see helper_test.go.
const helperEnv = "NULLNS_TEST_HELPER"

func TestMain(m *testing.M) {
	RunProbeChild()
	if scenario := os.Getenv(helperEnv); scenario != "" {
		os.Exit(runHelper(scenario))
	}
	os.Exit(m.Run())
}

// checker collects the failed checks of a helper scenario, which runs
// outside the testing package and reports on stderr.
type checker struct {
	failures []string
}

func (c *checker) errorf(format string, args ...any) {
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// errno checks that a call failed with want; nil means it must succeed.
func (c *checker) errno(call string, got error, want error) {
	if got != want {
		c.errorf("%s: got %v, want %v", call, errString(got), errString(want))
	}
}

func (c *checker) exitCode() int {
	if len(c.failures) == 0 {
		return 0
	}
	fmt.Fprintln(os.Stderr, strings.Join(c.failures, "\n"))
	return 1
}

func errString(err error) string {
	if err == nil {
		return "success"
	}
	return err.Error()
}

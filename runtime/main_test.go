package runtime

import (
	"fmt"
	"os"
	"testing"

	"github.com/nullrun/nullrun/nullns"
)

// TestMain lets the test binary serve as the container init and as the
// null-namespace probe child, the two roles the runtime re-executes its
// own binary for.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		if err := Init(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}
	nullns.RunProbeChild()
	os.Exit(m.Run())
}

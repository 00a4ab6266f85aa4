package nullns

import (
	"errors"
	"fmt"

	"github.com/nullrun/nullrun/specext"
)

// UnsupportedError is a null setting that the running kernel cannot enforce
// in the requested mode. errors.Is(err, errors.ErrUnsupported) holds for it.
type UnsupportedError struct {
	// Setting is the null setting that cannot be enforced.
	Setting specext.Setting
	// Enforce is the enforcement mode that rejected it.
	Enforce specext.Enforce
	// Feature is the kernel feature the setting needs, such as
	// "failfs fchroot(FD_FAILFS_ROOT)" or "Landlock ABI 6".
	Feature string
	// Kernel is the first kernel that has Feature, such as "7.3", or a
	// sentence saying that no released kernel has it.
	Kernel string
}

// Error names the setting, the missing feature, the kernel that has it and
// what the caller can do instead.
func (e *UnsupportedError) Error() string {
	hint := "; run on a kernel that has it"
	if e.Enforce != specext.EnforcePermissive {
		hint += ", or set dev.nullrun.enforce=permissive to fall back to a fresh namespace"
	}
	return fmt.Sprintf("enforce null %s in %s mode: this kernel lacks %s (%s)%s",
		e.Setting, e.Enforce, e.Feature, kernelPhrase(e.Kernel), hint)
}

// Is reports whether target is errors.ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool {
	return target == errors.ErrUnsupported
}

func kernelPhrase(kernel string) string {
	if kernel == kernelUnmerged {
		return kernel
	}
	return "Linux " + kernel + " and later"
}

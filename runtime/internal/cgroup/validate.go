package cgroup

import (
	"fmt"
	"strconv"
	"strings"
)

// checkList accepts a kernel CPU or memory node list as cpuset.cpus takes
// it: comma-separated numbers and ranges such as "0-3,8", where a range may
// carry a stride suffix ("0-15:2/4", see bitmap_parselist in lib/bitmap.c).
func checkList(field, list string) error {
	for _, item := range strings.Split(list, ",") {
		if !isListItem(item) {
			return invalid(field, fmt.Sprintf("%q", list),
				fmt.Sprintf(`%q is not a number or range: use a list such as "0-3,8"`, item))
		}
	}
	return nil
}

func isListItem(item string) bool {
	rng, stride, hasStride := strings.Cut(item, ":")
	lo, hi, isRange := strings.Cut(rng, "-")
	if !isDecimal(lo) {
		return false
	}
	if !isRange {
		return !hasStride
	}
	if !isDecimal(hi) {
		return false
	}
	first, _ := strconv.ParseUint(lo, 10, 64)
	last, _ := strconv.ParseUint(hi, 10, 64)
	if first > last {
		return false
	}
	if !hasStride {
		return true
	}
	used, group, ok := strings.Cut(stride, "/")
	return ok && isDecimal(used) && isDecimal(group)
}

func isDecimal(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isPageSize accepts a huge page size as the hugetlb controller's file
// names spell it: a number and a unit, "64KB", "2MB", "1GB".
func isPageSize(s string) bool {
	digits := strings.TrimRight(s, "KMGTPB")
	unit := s[len(digits):]
	switch unit {
	case "KB", "MB", "GB", "TB", "PB":
		return isDecimal(digits)
	}
	return false
}

// isInterfaceName accepts a network or RDMA device name: no path
// separators, white space or NUL, which would change the meaning of the
// line written to the cgroup file.
func isInterfaceName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsAny(s, "/ \t\n\x00")
}

// isUnifiedKey accepts a cgroup v2 interface file name such as
// "memory.high": a controller, a dot and a name, with no path separator.
func isUnifiedKey(s string) bool {
	controller, name, ok := strings.Cut(s, ".")
	if !ok || controller == "" || name == "" {
		return false
	}
	return !strings.ContainsAny(s, "/ \t\n\x00")
}

package seccomp

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// maxErrno is the largest errno the kernel returns for SECCOMP_RET_ERRNO
// (MAX_ERRNO in include/linux/err.h).
const maxErrno = 4095

// maxRulesPerEntry bounds how many libseccomp rules one syscalls[] entry may
// expand into (see conditionSets).
const maxRulesPerEntry = 256

var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

var architectures = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86:         libseccomp.ArchX86,
	specs.ArchX86_64:      libseccomp.ArchAMD64,
	specs.ArchX32:         libseccomp.ArchX32,
	specs.ArchARM:         libseccomp.ArchARM,
	specs.ArchAARCH64:     libseccomp.ArchARM64,
	specs.ArchMIPS:        libseccomp.ArchMIPS,
	specs.ArchMIPS64:      libseccomp.ArchMIPS64,
	specs.ArchMIPS64N32:   libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL:      libseccomp.ArchMIPSEL,
	specs.ArchMIPSEL64:    libseccomp.ArchMIPSEL64,
	specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC:         libseccomp.ArchPPC,
	specs.ArchPPC64:       libseccomp.ArchPPC64,
	specs.ArchPPC64LE:     libseccomp.ArchPPC64LE,
	specs.ArchS390:        libseccomp.ArchS390,
	specs.ArchS390X:       libseccomp.ArchS390X,
	specs.ArchPARISC:      libseccomp.ArchPARISC,
	specs.ArchPARISC64:    libseccomp.ArchPARISC64,
	specs.ArchRISCV64:     libseccomp.ArchRISCV64,
	specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K:        libseccomp.ArchM68K,
	specs.ArchSH:          libseccomp.ArchSH,
	specs.ArchSHEB:        libseccomp.ArchSHEB,
}

// flagTsync is listed by runtime-spec but has no constant in specs-go.
const flagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

// convertFlags turns the profile's flags into seccomp(2) filter flags.
func convertFlags(flags []specs.LinuxSeccompFlag) (uint, error) {
	var out uint
	for _, flag := range flags {
		switch flag {
		case specs.LinuxSeccompFlagLog:
			out |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			out |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case specs.LinuxSeccompFlagWaitKillableRecv:
			out |= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
		case flagTsync:
			// Accepted as runc does, without setting the flag: the filter
			// goes on the thread that calls execve, and execve ends every
			// other thread, so the program starts with the filter on all of
			// its threads either way.
		default:
			return 0, fmt.Errorf("invalid seccomp flag %q: use %s, %s, %s or %s",
				flag, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
				specs.LinuxSeccompFlagWaitKillableRecv, flagTsync)
		}
	}
	return out, nil
}

// convertAction returns the libseccomp action for name, with errnoRet as its
// return code where the action takes one.
func convertAction(name specs.LinuxSeccompAction, errnoRet *uint) (libseccomp.ScmpAction, error) {
	act, ok := actions[name]
	if !ok {
		return libseccomp.ActInvalid, fmt.Errorf("invalid seccomp action %q: use one of %s",
			name, strings.Join(sortedKeys(actions), ", "))
	}

	switch act {
	case libseccomp.ActErrno:
		code := uint(unix.EPERM)
		if errnoRet != nil {
			code = *errnoRet
		}
		if code > maxErrno {
			return libseccomp.ActInvalid, fmt.Errorf("invalid errnoRet %d for %s: use a value from 0 to %d",
				code, name, maxErrno)
		}
		return act.SetReturnCode(int16(code)), nil
	case libseccomp.ActTrace:
		code := uint(unix.EPERM)
		if errnoRet != nil {
			code = *errnoRet
		}
		// SECCOMP_RET_DATA is 16 bits wide; the tracer reads it as a message.
		if code > 0xffff {
			return libseccomp.ActInvalid, fmt.Errorf("invalid errnoRet %d for %s: use a value from 0 to 65535",
				code, name)
		}
		return act.SetReturnCode(int16(uint16(code))), nil
	}

	if errnoRet != nil {
		return libseccomp.ActInvalid, fmt.Errorf("invalid errnoRet %d for %s: only %s and %s take errnoRet",
			*errnoRet, name, specs.ActErrno, specs.ActTrace)
	}
	return act, nil
}

// conditionSets turns the args of one syscalls[] entry into the condition
// lists of the libseccomp rules that implement it. The entry matches when any
// of the returned lists matches in full.
//
// Conditions on different argument indexes must all match (AND), as in runc.
// libseccomp cannot AND two checks on the same argument ("two checks on same
// syscall argument"), so runc then adds every condition of the entry as a rule
// of its own, which turns the whole entry into an OR: with
// [a0 == 1, a0 == 2, a1 == 5] it matches any call with a1 == 5, whatever a0 is.
// nullrun reads repeated SCMP_CMP_EQ checks on one index as alternatives for
// that index (two different equalities cannot both hold, so nothing else makes
// sense) and keeps the other indexes ANDed, which yields
// (a0 == 1 && a1 == 5) || (a0 == 2 && a1 == 5). Any other operator repeated on
// one index is ambiguous (a range written as GE and LE would become "always
// true" under OR), so it is rejected instead of silently widened.
func conditionSets(name string, args []specs.LinuxSeccompArg) ([][]libseccomp.ScmpCondition, error) {
	var byIndex [6][]libseccomp.ScmpCondition
	for _, arg := range args {
		op, ok := operators[arg.Op]
		if !ok {
			return nil, fmt.Errorf("invalid operator %q in seccomp rule for %s: use one of %s",
				arg.Op, name, strings.Join(sortedKeys(operators), ", "))
		}
		if arg.Index >= uint(len(byIndex)) {
			return nil, fmt.Errorf("invalid argument index %d in seccomp rule for %s: use 0 to 5",
				arg.Index, name)
		}
		cond, err := libseccomp.MakeCondition(arg.Index, op, arg.Value, arg.ValueTwo)
		if err != nil {
			return nil, fmt.Errorf("make condition on argument %d of %s: %w", arg.Index, name, err)
		}
		byIndex[arg.Index] = append(byIndex[arg.Index], cond)
	}

	sets := [][]libseccomp.ScmpCondition{nil}
	for index, conds := range byIndex {
		if len(conds) == 0 {
			continue
		}
		if len(conds) > 1 {
			for _, cond := range conds {
				if cond.Op != libseccomp.CompareEqual {
					return nil, fmt.Errorf("invalid seccomp rule for %s: %d checks on argument %d, "+
						"and libseccomp cannot combine %s with another check on the same argument: "+
						"write one syscalls entry per alternative", name, len(conds), index,
						opName(cond.Op))
				}
			}
		}
		if len(sets)*len(conds) > maxRulesPerEntry {
			return nil, fmt.Errorf("invalid seccomp rule for %s: its SCMP_CMP_EQ alternatives expand "+
				"to more than %d rules: split the entry", name, maxRulesPerEntry)
		}

		next := make([][]libseccomp.ScmpCondition, 0, len(sets)*len(conds))
		for _, set := range sets {
			for _, cond := range conds {
				next = append(next, append(slices.Clip(set), cond))
			}
		}
		sets = next
	}
	return sets, nil
}

func opName(op libseccomp.ScmpCompareOp) string {
	for name, o := range operators {
		if o == op {
			return string(name)
		}
	}
	return op.String()
}

func sortedKeys[K ~string, V any](m map[K]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	return keys
}

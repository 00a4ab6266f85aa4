//go:build cgo

package nsenter

/*
#cgo CFLAGS: -Wall -Wextra
#include "nsenter.h"
*/
import "C"

const constructorLinked = true

// cEnvFD returns the environment variable name nsenter.h defines.
func cEnvFD() string { return C.NSENTER_ENV_FD }

// cWireConstants returns the values nsenter.h defines, for the test that
// keeps wire.go in step with them.
func cWireConstants() map[string]int {
	return map[string]int{
		"reqJoin":       C.NSENTER_REQ_JOIN,
		"reqUnshare":    C.NSENTER_REQ_UNSHARE,
		"reqTimensSync": C.NSENTER_REQ_TIMENS_SYNC,
		"reqEnd":        C.NSENTER_REQ_END,
		"ackUserns":     C.NSENTER_ACK_USERNS,
		"ackTimens":     C.NSENTER_ACK_TIMENS,
		"reqPause":      C.NSENTER_REQ_PAUSE,
		"reqResume":     C.NSENTER_REQ_RESUME,
		"reqNullUserns": C.NSENTER_REQ_NULL_USERNS,
		"msgUserns":     C.NSENTER_MSG_USERNS,
		"msgTimens":     C.NSENTER_MSG_TIMENS,
		"msgError":      C.NSENTER_MSG_ERROR,
		"msgDone":       C.NSENTER_MSG_DONE,
		"msgResumed":    C.NSENTER_MSG_RESUMED,
		"mappedUID0":    C.NSENTER_MAPPED_UID0,
		"mappedGID0":    C.NSENTER_MAPPED_GID0,
		"pauseCgroupns": C.NSENTER_PAUSE_CGROUPNS,
		"pauseNullUser": C.NSENTER_PAUSE_NULL_USER,
		"maxPayload":    C.NSENTER_MAX_PAYLOAD,
		"maxJoin":       C.NSENTER_MAX_JOIN,
	}
}

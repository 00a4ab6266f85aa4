package nsenter

import (
	"encoding/binary"
	"fmt"
	"io"
	"syscall"
)

// EnvFD is the environment variable that names the child's end of the
// socket. Without it the constructor returns at once.
const EnvFD = "_NULLRUN_NSENTER_FD"

// Message types and limits; nsenter.h defines the same values for the C
// side.
const (
	reqJoin       = 1
	reqUnshare    = 2
	reqTimensSync = 3
	reqEnd        = 4
	ackUserns     = 5
	ackTimens     = 6
	reqPause      = 7
	reqResume     = 8
	reqNullUserns = 9

	msgUserns  = 16
	msgTimens  = 17
	msgError   = 18
	msgDone    = 19
	msgResumed = 20

	mappedUID0 = 1
	mappedGID0 = 2

	pauseCgroupns = 1
	pauseNullUser = 2

	maxPayload = 8192
	maxJoin    = 8
)

const headerSize = 8

// appendMessage appends one framed message to buf.
func appendMessage(buf []byte, typ uint32, payload ...[]byte) []byte {
	n := 0
	for _, p := range payload {
		n += len(p)
	}
	buf = binary.NativeEndian.AppendUint32(buf, typ)
	buf = binary.NativeEndian.AppendUint32(buf, uint32(n))
	for _, p := range payload {
		buf = append(buf, p...)
	}
	return buf
}

func uint32Bytes(v uint32) []byte {
	return binary.NativeEndian.AppendUint32(nil, v)
}

// readMessage reads one framed message from r.
func readMessage(r io.Reader) (uint32, []byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	typ := binary.NativeEndian.Uint32(hdr[:4])
	n := binary.NativeEndian.Uint32(hdr[4:])
	if n > maxPayload {
		return 0, nil, fmt.Errorf("read message type %d: payload of %d bytes exceeds the %d byte limit", typ, n, maxPayload)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("read message type %d: %w", typ, err)
	}
	return typ, payload, nil
}

// SetupError is a failure the child reports while it joins or creates
// namespaces.
type SetupError struct {
	// Op names the step and its object, such as
	// "join net namespace /proc/42/ns/net".
	Op string
	// Err is the errno of the failed call, or nil for a protocol error.
	Err error
}

func (e *SetupError) Error() string {
	if e.Err == nil {
		return e.Op
	}
	return e.Op + ": " + e.Err.Error()
}

// Unwrap returns the errno, so errors.Is(err, fs.ErrNotExist) works.
func (e *SetupError) Unwrap() error { return e.Err }

func parseSetupError(payload []byte) error {
	if len(payload) < 4 {
		return &SetupError{Op: "child reported an error without a message"}
	}
	e := &SetupError{Op: string(payload[4:])}
	if errno := int32(binary.NativeEndian.Uint32(payload[:4])); errno != 0 {
		e.Err = syscall.Errno(errno)
	}
	return e
}

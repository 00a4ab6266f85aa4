package shim

import (
	"errors"
	"fmt"

	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"

	"github.com/nullrun/nullrun/runtime"
)

// toErrdefs adds containerd's error category to the runtime's sentinel
// errors, keeping the message.
func toErrdefs(err error) error {
	switch {
	case err == nil:
		return nil
	case errdefs.IsNotFound(err), errdefs.IsAlreadyExists(err),
		errdefs.IsFailedPrecondition(err), errdefs.IsNotImplemented(err),
		errdefs.IsInvalidArgument(err):
		return err
	case errors.Is(err, runtime.ErrNotExist):
		return fmt.Errorf("%w: %w", err, errdefs.ErrNotFound)
	case errors.Is(err, runtime.ErrExist):
		return fmt.Errorf("%w: %w", err, errdefs.ErrAlreadyExists)
	case errors.Is(err, runtime.ErrNotRunning), errors.Is(err, runtime.ErrNotPaused),
		errors.Is(err, runtime.ErrStopped):
		return fmt.Errorf("%w: %w", err, errdefs.ErrFailedPrecondition)
	}
	return err
}

// rpcError logs a failed call and returns err as the ttrpc status that
// containerd's client turns back into an errdefs error. Expected failures
// (a process that is gone, a state that does not allow the call) are
// logged at debug level.
func (s *Service) rpcError(call, id, execID string, err error) error {
	err = toErrdefs(err)
	l := s.logger(id, execID).WithError(err).WithField("call", call)
	if errdefs.IsNotFound(err) || errdefs.IsFailedPrecondition(err) ||
		errdefs.IsAlreadyExists(err) || errdefs.IsNotImplemented(err) {
		l.Debug("task call failed")
	} else {
		l.Error("task call failed")
	}
	return errgrpc.ToGRPC(err)
}

package specext

import (
	"errors"
	"fmt"
)

// Sentinel errors that an *AnnotationError unwraps to. Compare with errors.Is.
var (
	// ErrInvalid classifies an annotation that Parse rejects.
	ErrInvalid = errors.New("invalid null annotation")
	// ErrConflict classifies an annotation that Validate finds in conflict
	// with another part of the spec.
	ErrConflict = errors.New("null annotation conflicts with the spec")
)

// AnnotationError is an annotation that Parse rejects, or that Validate
// finds in conflict with another part of the spec.
type AnnotationError struct {
	// Key is the annotation key, such as "dev.nullrun.grant.3".
	Key string
	// Value is the annotation value as given.
	Value string
	// Field is the spec field that the annotation conflicts with, such as
	// "linux.namespaces". It is empty for a syntax error.
	Field string
	// Reason explains what is wrong and what to do about it.
	Reason string
}

// Error returns the key, the value, the conflicting field if any and the reason.
func (e *AnnotationError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("parse annotation %s=%q: %s", e.Key, e.Value, e.Reason)
	}
	return fmt.Sprintf("validate annotation %s=%q against %s: %s", e.Key, e.Value, e.Field, e.Reason)
}

// Unwrap returns ErrInvalid for a syntax error and ErrConflict for a conflict.
func (e *AnnotationError) Unwrap() error {
	if e.Field == "" {
		return ErrInvalid
	}
	return ErrConflict
}

func invalid(key, value, format string, args ...any) error {
	return &AnnotationError{Key: key, Value: value, Reason: fmt.Sprintf(format, args...)}
}

func conflict(key, value, field, format string, args ...any) error {
	return &AnnotationError{Key: key, Value: value, Field: field, Reason: fmt.Sprintf(format, args...)}
}

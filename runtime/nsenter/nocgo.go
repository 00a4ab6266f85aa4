//go:build !cgo

package nsenter

// Without cgo the constructor is not linked, so Start rejects every
// request instead of waiting for a child that never replies.
const constructorLinked = false

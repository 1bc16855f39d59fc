// Package nsenter links husk's namespace preamble (nsenter.c) into the binary.
// Importing it for its side effect is enough: the C constructor runs before
// the Go runtime in every husk process and returns at once unless husk
// started this process as an init or exec stage.
package nsenter

// #cgo CFLAGS: -Wall -Wextra -O2
import "C"
